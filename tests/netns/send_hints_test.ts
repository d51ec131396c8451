// Issue 22, item 7: when nobody answers a send through an interface with
// multicast switched off, send says so, naming the command doctor names
// (ip link set IF multicast on); before, it printed "1 sent, 0 replies"
// and nothing else. The flag alone does not stop multicast on a veth (the
// listener below answers with it off), so the hint comes only when no
// reply did, and says what is known: the flag, not that it was the cause.
//
//   s 10.77.1.11 (eth0: multicast off) ── segment "lan" ── l 10.77.1.12
import assert from "node:assert/strict";
import { netnsTest } from "../../lab/availability.ts";
import { createLab } from "../../lab/lab.ts";
import {
  groupFlags,
  parseJsonLines,
  runMcast,
  startListener,
  stopListener,
} from "../../lab/mcast_cli.ts";

const GROUP = "239.1.2.3";
const HINT =
  "hint: interface eth0 has multicast switched off (no MULTICAST flag), which doctor fails for multicast: ip link set eth0 multicast on";

netnsTest(
  "send hints: nobody answering through an interface with multicast off is told so, naming ip link set IF multicast on",
  async () => {
    await using lab = await createLab();
    const lan = await lab.segment("lan");
    const s = await lab.host("s", { segment: lan, address: "10.77.1.11/24" });
    const l = await lab.host("l", { segment: lan, address: "10.77.1.12/24" });
    const send = (iface: string, port: number, extra: string[] = []) =>
      runMcast(s, [
        "send",
        ...groupFlags(GROUP, port, iface),
        "-w",
        "300ms",
        ...extra,
        "hi",
      ], { timeoutMs: 20_000 });
    const off = await s.run(["ip", "link", "set", "eth0", "multicast", "off"]);
    assert.equal(off.code, 0, off.stderr);
    // Nobody listens on 22601: by name and by address, as people give -i.
    for (const iface of ["eth0", "10.77.1.11"]) {
      const r = await send(iface, 22601);
      const what = `-i ${iface}: exit ${r.code}\n${r.stdout}\n${r.stderr}`;
      assert.equal(r.code, 1, what);
      assert.ok(r.stdout.split("\n").includes(HINT), what);
    }
    const json = await send("eth0", 22601, ["--json"]);
    assert.deepEqual(parseJsonLines(json.stdout).at(-1)!.hints, [HINT]);
    // A listener answers even so (a veth carries multicast with the flag
    // off): replies came, nothing to explain.
    const listener = await startListener(l, groupFlags(GROUP, 22602, "eth0"));
    const answered = await send("eth0", 22602);
    await stopListener(listener);
    assert.equal(answered.code, 0, answered.stderr);
    assert.doesNotMatch(answered.stdout, /^hint:/m);
    // Multicast on, nobody listening: no hint either.
    const on = await s.run(["ip", "link", "set", "eth0", "multicast", "on"]);
    assert.equal(on.code, 0, on.stderr);
    const quiet = await send("eth0", 22603);
    assert.equal(quiet.code, 1);
    assert.doesNotMatch(quiet.stdout, /^hint:/m);
  },
);
