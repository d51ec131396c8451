/**
 * A real systemd for a test: the installed systemd booted as PID 1 of fresh
 * PID, mount, network, UTS, IPC and cgroup namespaces, so that a unit file is
 * started, killed, restarted and stopped by systemd itself without systemd
 * being this machine's init and without touching the machine.
 *
 * What the machine is: the host's files, with its own `/dev`, `/run`, `/tmp`,
 * `/var/tmp`, `/var/cache`, `/var/lib/systemd`, `/var/log/journal`, `/opt`,
 * `/usr/local/bin` and `/etc/systemd/system` (empty tmpfs, gone with it);
 * `/sys` and `/proc/sys` read-only; no capability to load modules or set the
 * clock; the checkout read-only at {@linkcode CHECKOUT}; this test's Deno at
 * `/usr/local/bin/deno`. Its network is `lo` alone, up, with the multicast
 * route on it (as a host's default route would be): nothing it does reaches
 * the machine's network. Its boot is reduced to the journal: sysinit.target
 * and basic.target are empty, and every unit the distribution's sysinit,
 * sockets, timers and multi-user targets pull in is masked (tmpfiles, sysctl,
 * modules, sysusers and the like would act on the host's files or kernel).
 *
 * It needs root, systemd, util-linux's `unshare`, `nsenter` and `setpriv`,
 * and a cgroup2 hierarchy to make a cgroup in ({@linkcode systemdAvailableSync}
 * says which is missing).
 *
 * @module
 */

import { ROOT } from "./cli_process.ts";
import { type Finished, Subprocess } from "./subprocess.ts";
import { type TempDir, tempDir } from "./temp_dir.ts";
import { until } from "./until.ts";
import { hasProgram } from "../../lab/availability.ts";

/** Where the machine sees the checkout (read-only). */
export const CHECKOUT = "/run/mcast-checkout";

/** The PATH commands run with inside the machine (systemd's own, for services). */
const MACHINE_PATH =
  "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Where distributions keep systemd and their unit files. */
const SYSTEMD_BINARIES = ["/lib/systemd/systemd", "/usr/lib/systemd/systemd"];
const UNIT_DIRECTORIES = ["/lib/systemd/system", "/usr/lib/systemd/system"];
/** The targets whose distribution wants are masked (kept: the journal). */
const REDUCED_TARGETS = ["sysinit", "sockets", "timers", "multi-user", "basic"];
/** Host directories the machine covers with its own empty ones. */
const COVERED = [
  "/etc/systemd/system",
  "/var/cache",
  "/var/lib/systemd",
  "/opt",
  "/usr/local/bin",
  "/var/tmp",
];
/** Programs the boot uses. */
const PROGRAMS = [
  "unshare",
  "nsenter",
  "setpriv",
  "ip",
  "systemctl",
  "journalctl",
];

/** Whether a systemd can be booted here, with what, and if not why. */
export type SystemdAvailability =
  | { ok: true; systemd: string; cgroupParent: string }
  | { ok: false; reason: string };

let cached: SystemdAvailability | undefined;

/**
 * Checks what the boot needs: Linux, root, systemd, the programs, and a
 * cgroup2 hierarchy this process can make a cgroup in. Cached.
 */
export function systemdAvailableSync(): SystemdAvailability {
  cached ??= probe();
  return cached;
}

function probe(): SystemdAvailability {
  if (Deno.build.os !== "linux") {
    return {
      ok: false,
      reason: `systemd needs Linux, this is ${Deno.build.os}`,
    };
  }
  if (Deno.uid() !== 0) {
    return { ok: false, reason: `not root (uid ${Deno.uid()})` };
  }
  const systemd = SYSTEMD_BINARIES.find(isFile);
  if (!systemd) {
    return {
      ok: false,
      reason: `no systemd (${
        SYSTEMD_BINARIES.join(" or ")
      }; apt-get install systemd)`,
    };
  }
  const missing = PROGRAMS.filter((program) => !hasProgram(program));
  if (missing.length > 0) {
    return { ok: false, reason: `no ${missing.join(", ")}` };
  }
  const absent = COVERED.filter((dir) => !isDirectory(dir));
  if (absent.length > 0) {
    return { ok: false, reason: `no ${absent.join(", ")}` };
  }
  const cgroupParent = ownCgroup2Directory();
  if (!cgroupParent) {
    return {
      ok: false,
      reason: "no cgroup2 hierarchy mounted (/proc/self/mountinfo)",
    };
  }
  const trial = `${cgroupParent}/mcast-systemd-probe-${Deno.pid}`;
  try {
    Deno.mkdirSync(trial);
    Deno.removeSync(trial);
  } catch (error) {
    return {
      ok: false,
      reason: `cannot make a cgroup in ${cgroupParent}: ${
        (error as Error).message
      }`,
    };
  }
  return { ok: true, systemd, cgroupParent };
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/** This process's cgroup in the cgroup2 hierarchy, as a directory (undefined without one). */
function ownCgroup2Directory(): string | undefined {
  const mount = Deno.readTextFileSync("/proc/self/mountinfo").split("\n")
    .map((line) => line.split(" - "))
    .find(([, after]) => after?.startsWith("cgroup2 "));
  if (!mount) return undefined;
  const mountPoint = mount[0].split(" ")[4];
  const own = Deno.readTextFileSync("/proc/self/cgroup").split("\n")
    .find((line) => line.startsWith("0::"));
  if (own === undefined) return undefined;
  const path = own.slice(3);
  return path === "/" ? mountPoint : `${mountPoint}${path}`;
}

/** The shell script run in the fresh namespaces: it builds the machine, then becomes systemd. */
function bootScript(systemd: string, consoleFile: string): string {
  const quoted = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
  const wants = REDUCED_TARGETS.flatMap((target) =>
    UNIT_DIRECTORIES.map((dir) => `${dir}/${target}.target.wants`)
  ).join(" ");
  return `set -eu
ip link set lo up
ip route add 224.0.0.0/4 dev lo
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs /sys
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
mkdir ${CHECKOUT}
mount --bind ${quoted(ROOT)} ${CHECKOUT}
mount -o remount,bind,ro ${CHECKOUT}
for dir in ${COVERED.filter((dir) => dir !== "/var/tmp").join(" ")}; do
  mount -t tmpfs -o mode=755 tmpfs "$dir"
done
if [ -d /var/log/journal ]; then mount -t tmpfs -o mode=2755 tmpfs /var/log/journal; fi
touch /usr/local/bin/deno
mount --bind ${quoted(Deno.execPath())} /usr/local/bin/deno
mount -t tmpfs -o mode=755,nosuid tmpfs /dev
mknod -m 666 /dev/null c 1 3
mknod -m 666 /dev/zero c 1 5
mknod -m 666 /dev/full c 1 7
mknod -m 666 /dev/random c 1 8
mknod -m 666 /dev/urandom c 1 9
mknod -m 666 /dev/tty c 5 0
mkdir /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts /dev/pts
ln -s pts/ptmx /dev/ptmx
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
ln -s /proc/self/fd /dev/fd
touch /dev/console
mount --bind ${quoted(consoleFile)} /dev/console
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp
cd /etc/systemd/system
printf '[Unit]\\nDescription=mcast test machine\\nWants=systemd-journald.service\\n' > mcast-test.target
printf '[Unit]\\nDescription=System Initialization (empty here)\\n' > sysinit.target
printf '[Unit]\\nDescription=Basic System (empty here)\\n' > basic.target
for dir in ${wants}; do
  [ -d "$dir" ] || continue
  for unit in $(ls "$dir"); do
    case "$unit" in systemd-journald*) ;; *) ln -sf /dev/null "$unit" ;; esac
  done
done
for unit in local-fs.target swap.target tmp.mount systemd-tmpfiles-setup.service systemd-tmpfiles-clean.timer; do
  ln -sf /dev/null "$unit"
done
cd /
exec env -i container=mcast-test PATH=${MACHINE_PATH} \\
  setpriv --bounding-set=-sys_module,-sys_time,-sys_rawio,-syslog,-wake_alarm,-block_suspend,-sys_pacct,-mac_admin,-mac_override \\
  ${systemd} --system --unit=mcast-test.target --log-target=journal
`;
}

/** A booted systemd in namespaces of its own; disposal powers it off and removes its cgroup. */
export class SystemdMachine implements AsyncDisposable {
  readonly #boot: Subprocess;
  readonly #cgroup: string;
  readonly #dir: TempDir;
  readonly #consoleFile: string;
  /** systemd's PID on the host (0 until it has started). */
  #pid = 0;

  private constructor(
    boot: Subprocess,
    cgroup: string,
    dir: TempDir,
    consoleFile: string,
  ) {
    this.#boot = boot;
    this.#cgroup = cgroup;
    this.#dir = dir;
    this.#consoleFile = consoleFile;
  }

  /**
   * Boots a machine and waits, at most `timeoutMs`, until systemd says it is
   * running; throws with what the boot and systemd printed otherwise.
   */
  static async boot(timeoutMs: number): Promise<SystemdMachine> {
    const available = systemdAvailableSync();
    if (!available.ok) {
      throw new Error(`cannot boot systemd: ${available.reason}`);
    }
    const dir = await tempDir("mcast-systemd-");
    const consoleFile = `${dir.path}/console`;
    await Deno.writeTextFile(consoleFile, "");
    const script = `${dir.path}/boot.sh`;
    await Deno.writeTextFile(
      script,
      bootScript(available.systemd, consoleFile),
    );
    const cgroup = `${available.cgroupParent}/mcast-systemd-${Deno.pid}`;
    await Deno.mkdir(cgroup);
    // Into the cgroup first: the cgroup namespace's root is where unshare runs.
    const boot = new Subprocess("sh", [
      "-c",
      `echo $$ > ${cgroup}/cgroup.procs && exec unshare --pid --fork --kill-child --mount --net --uts --ipc --cgroup --mount-proc --propagation private sh ${script}`,
    ], { name: "the systemd boot" });
    const machine = new SystemdMachine(boot, cgroup, dir, consoleFile);
    try {
      await machine.#waitUntilRunning(timeoutMs);
      return machine;
    } catch (error) {
      const said = await Deno.readTextFile(consoleFile);
      await machine[Symbol.asyncDispose]();
      throw new Error(
        `${
          (error as Error).message
        }\nthe boot printed:\n${boot.err.text}${boot.out.text}\nsystemd printed:\n${said}`,
      );
    }
  }

  async #waitUntilRunning(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    await until(
      () => {
        this.#pid = systemdPid(this.#boot.child.pid);
        return this.#pid !== 0 || this.#boot.exited;
      },
      timeoutMs,
      { intervalMs: 20, message: "systemd did not start" },
    );
    for (;;) {
      if (this.#boot.exited) throw new Error("the boot ended");
      const state = await this.run("systemctl is-system-running", 10_000);
      const said = [...state.stdout, ...state.stderr].join(" ");
      if (said === "running" || said === "degraded") return;
      if (Date.now() > end) throw new Error(`systemd is not running: ${said}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** What systemd wrote to its console (before its journal ran, and on failures). */
  consoleText(): string {
    return Deno.readTextFileSync(this.#consoleFile);
  }

  /**
   * Runs `command` with `sh -c` inside the machine (all its namespaces,
   * systemd's PATH, from `cwd`), at most `timeoutMs`.
   */
  async run(command: string, timeoutMs: number, cwd = "/"): Promise<Finished> {
    await using proc = new Subprocess("nsenter", [
      "-t",
      String(this.#pid),
      "-a",
      "sh",
      "-c",
      `cd ${cwd} && ${command}`,
    ], {
      env: { PATH: MACHINE_PATH, SYSTEMD_PAGER: "", SYSTEMD_COLORS: "0" },
      name: command,
    });
    return await proc.wait(timeoutMs);
  }

  /** Powers the machine off (bounded; killed otherwise) and removes its cgroup and files. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      if (this.#pid !== 0 && !this.#boot.exited) {
        await this.run("systemctl --no-block poweroff", 10_000).catch(() => {});
        await this.#boot.wait(20_000).catch(() => {});
      }
    } finally {
      // --kill-child: killing unshare kills systemd, and with it the namespaces.
      await this.#boot[Symbol.asyncDispose]();
      await until(() => cgroupIsEmpty(this.#cgroup), 10_000, {
        intervalMs: 20,
        message: `processes left in ${this.#cgroup}`,
      });
      removeCgroup(this.#cgroup);
      await this.#dir[Symbol.asyncDispose]();
    }
  }
}

/** The child of `unshare` (host PID) once it has become systemd, or 0. */
function systemdPid(unsharePid: number): number {
  try {
    const [child] = Deno.readTextFileSync(
      `/proc/${unsharePid}/task/${unsharePid}/children`,
    )
      .trim().split(" ").filter((pid) => pid !== "");
    if (child === undefined) return 0;
    const command = Deno.readTextFileSync(`/proc/${child}/comm`).trim();
    return command === "systemd" ? Number(child) : 0;
  } catch {
    return 0;
  }
}

function cgroupIsEmpty(path: string): boolean {
  try {
    if (Deno.readTextFileSync(`${path}/cgroup.procs`).trim() !== "") {
      return false;
    }
    return [...Deno.readDirSync(path)].every((entry) =>
      !entry.isDirectory || cgroupIsEmpty(`${path}/${entry.name}`)
    );
  } catch (error) {
    return error instanceof Deno.errors.NotFound;
  }
}

/** Removes a cgroup and the ones systemd made in it, deepest first. */
function removeCgroup(path: string): void {
  for (const entry of Deno.readDirSync(path)) {
    if (entry.isDirectory) removeCgroup(`${path}/${entry.name}`);
  }
  Deno.removeSync(path);
}
