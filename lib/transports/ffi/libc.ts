/**
 * The slice of Linux's C library that the FFI transport calls through
 * `Deno.dlopen("libc.so.6")`: the symbol tables, the socket constants and
 * struct layouts of Linux on x86_64 and aarch64 (checked against the
 * system headers), errno, and {@link Libc}, a thin typed wrapper that
 * encodes arguments into one off-heap scratch buffer per library handle.
 *
 * Every buffer the kernel reads or writes here lives in a large
 * `ArrayBuffer` allocated once (V8 keeps small typed arrays on its moving
 * heap, where the kernel must never see them) and stays referenced by the
 * {@link Libc} object for as long as the handle is open.
 *
 * @module
 */

import { MAX_DATAGRAM_BYTES } from "../../defaults.ts";
import { timespecMs } from "./kernel_clock.ts";
import type { Family } from "../transport.ts";

/**
 * Path of the glibc shared object that both threads open.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LIBC_PATH } from "./libc.ts";
 * assert.match(LIBC_PATH, /^libc\.so/);
 * ```
 */
export const LIBC_PATH = "libc.so.6";

/**
 * Socket constants of Linux (x86_64 and aarch64 share them), verified
 * against `/usr/include` with a C program printing each one.
 *
 * @example Read a constant
 * ```ts
 * import assert from "node:assert/strict";
 * import { LINUX } from "./libc.ts";
 * assert.equal(LINUX.IP_ADD_MEMBERSHIP, 35);
 * ```
 */
export const LINUX = {
  AF_INET: 2,
  AF_INET6: 10,
  SOCK_DGRAM: 2,
  SOCK_CLOEXEC: 0x80000,
  SOL_SOCKET: 1,
  SO_REUSEADDR: 2,
  SO_RCVBUF: 8,
  SO_REUSEPORT: 15,
  SO_RCVTIMEO: 20,
  SO_RCVBUFFORCE: 33,
  SO_TIMESTAMPNS: 35,
  SO_RXQ_OVFL: 40,
  SO_MEMINFO: 55,
  IPPROTO_IP: 0,
  IPPROTO_IPV6: 41,
  IP_MULTICAST_IF: 32,
  IP_MULTICAST_TTL: 33,
  IP_MULTICAST_LOOP: 34,
  IP_ADD_MEMBERSHIP: 35,
  IP_DROP_MEMBERSHIP: 36,
  IP_ADD_SOURCE_MEMBERSHIP: 39,
  IP_DROP_SOURCE_MEMBERSHIP: 40,
  IP_MULTICAST_ALL: 49,
  IP_PKTINFO: 8,
  IPV6_RECVPKTINFO: 49,
  IPV6_PKTINFO: 50,
  IPV6_MULTICAST_IF: 17,
  IPV6_MULTICAST_HOPS: 18,
  IPV6_MULTICAST_LOOP: 19,
  IPV6_JOIN_GROUP: 20,
  IPV6_LEAVE_GROUP: 21,
  IPV6_MULTICAST_ALL: 29,
  MCAST_JOIN_SOURCE_GROUP: 46,
  MCAST_LEAVE_SOURCE_GROUP: 47,
  SHUT_RD: 0,
  POLLIN: 1,
  CLOCK_REALTIME: 0,
  MSG_DONTWAIT: 0x40,
  MSG_TRUNC: 0x20,
  MSG_WAITFORONE: 0x10000,
  EINTR: 4,
  EAGAIN: 11,
  EBADF: 9,
  EFAULT: 14,
  EINVAL: 22,
  EMSGSIZE: 90,
  ENOTSOCK: 88,
  ENOPROTOOPT: 92,
  ENOTCONN: 107,
} as const;

/**
 * Sizes and offsets of the structs that `recvmmsg` fills on Linux
 * x86_64/aarch64 (`struct mmsghdr`, `struct msghdr`, `struct iovec`,
 * `struct sockaddr_in6`), as `offsetof`/`sizeof` print them.
 *
 * @example Find the length of datagram `i` in a mmsghdr array
 * ```ts
 * import assert from "node:assert/strict";
 * import { MMSG } from "./libc.ts";
 * const lengthOffset = 3 * MMSG.MMSGHDR_SIZE + MMSG.MSG_LEN;
 * assert.equal(lengthOffset, 3 * 64 + 56);
 * ```
 */
export const MMSG = {
  /** `sizeof(struct mmsghdr)`. */
  MMSGHDR_SIZE: 64,
  /** `offsetof(struct msghdr, msg_name)`. */
  MSG_NAME: 0,
  /** `offsetof(struct msghdr, msg_namelen)`. */
  MSG_NAMELEN: 8,
  /** `offsetof(struct msghdr, msg_iov)`. */
  MSG_IOV: 16,
  /** `offsetof(struct msghdr, msg_iovlen)`. */
  MSG_IOVLEN: 24,
  /** `offsetof(struct msghdr, msg_control)`. */
  MSG_CONTROL: 32,
  /** `offsetof(struct msghdr, msg_controllen)`. */
  MSG_CONTROLLEN: 40,
  /** `offsetof(struct msghdr, msg_flags)`. */
  MSG_FLAGS: 48,
  /** `offsetof(struct mmsghdr, msg_len)`. */
  MSG_LEN: 56,
  /** `sizeof(struct iovec)`. */
  IOVEC_SIZE: 16,
  /** Room kept per source address: `sizeof(struct sockaddr_in6)` is 28. */
  SOCKADDR_SLOT: 32,
  /** `sizeof(struct sockaddr_in)`. */
  SOCKADDR_IN_SIZE: 16,
  /** `sizeof(struct sockaddr_in6)`. */
  SOCKADDR_IN6_SIZE: 28,
} as const;

/**
 * The libc symbols mcast calls. All run on the main thread and none
 * blocks it: `sendto` and the synchronous `recvmmsg` are called with
 * `MSG_DONTWAIT`; `recvmmsg_wait` is `recvmmsg` declared
 * `nonblocking: true`, so it waits for datagrams on one of Deno's
 * blocking-pool threads and returns a promise. Its buffers must be memory
 * that V8 never moves (a large `ArrayBuffer` kept referenced), and errno
 * after it belongs to the pool thread, not this one.
 *
 * @example Open them yourself (needs `--allow-ffi`)
 * ```ts ignore
 * import { LIBC_PATH, LIBC_SYMBOLS } from "./libc.ts";
 * const lib = Deno.dlopen(LIBC_PATH, LIBC_SYMBOLS);
 * lib.close();
 * ```
 */
export const LIBC_SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: {
    parameters: ["i32", "i32", "i32", "pointer", "u32"],
    result: "i32",
  },
  getsockopt: {
    parameters: ["i32", "i32", "i32", "pointer", "pointer"],
    result: "i32",
  },
  bind: { parameters: ["i32", "pointer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "pointer", "pointer"], result: "i32" },
  sendto: {
    parameters: ["i32", "pointer", "usize", "i32", "pointer", "u32"],
    result: "isize",
  },
  sendmmsg: { parameters: ["i32", "pointer", "u32", "i32"], result: "i32" },
  recvmmsg: {
    parameters: ["i32", "pointer", "u32", "i32", "pointer"],
    result: "i32",
  },
  recvmmsg_wait: {
    name: "recvmmsg",
    parameters: ["i32", "pointer", "u32", "i32", "pointer"],
    result: "i32",
    nonblocking: true,
  },
  usleep_wait: {
    name: "usleep",
    parameters: ["u32"],
    result: "i32",
    nonblocking: true,
  },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  poll: { parameters: ["pointer", "u64", "i32"], result: "i32" },
  clock_gettime: { parameters: ["i32", "pointer"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  inet_pton: { parameters: ["i32", "pointer", "pointer"], result: "i32" },
  inet_ntop: {
    parameters: ["i32", "pointer", "pointer", "u32"],
    result: "pointer",
  },
  if_nametoindex: { parameters: ["pointer"], result: "u32" },
  if_indextoname: { parameters: ["u32", "pointer"], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  88: "ENOTSOCK",
  89: "EDESTADDRREQ",
  90: "EMSGSIZE",
  92: "ENOPROTOOPT",
  93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  100: "ENETDOWN",
  101: "ENETUNREACH",
  104: "ECONNRESET",
  105: "ENOBUFS",
  106: "EISCONN",
  107: "ENOTCONN",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
  113: "EHOSTUNREACH",
};

/**
 * The symbolic name of a Linux errno value (`98` is `"EADDRINUSE"`), or
 * `"errno N"` for one this table does not know.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errnoName } from "./libc.ts";
 * assert.equal(errnoName(98), "EADDRINUSE");
 * ```
 */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/**
 * A libc call failed; `code` is the errno name (`EADDRINUSE`) and
 * `message` adds the C library's description. The transport wraps it as
 * the `cause` of a `SocketError` that names the operation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ErrnoError } from "./libc.ts";
 * const error = new ErrnoError("bind", 98, "Address already in use");
 * assert.equal(error.code, "EADDRINUSE");
 * assert.equal(error.message, "bind: EADDRINUSE (Address already in use)");
 * ```
 */
export class ErrnoError extends Error {
  /** The errno value. */
  readonly errno: number;
  /** The errno name, such as `EADDRINUSE`. */
  readonly code: string;
  /** The libc function that failed. */
  readonly syscall: string;
  /**
   * Builds the error from the failed call and its errno.
   *
   * @param syscall The libc function that failed.
   * @param errno Its errno value.
   * @param description The C library's text for it (`strerror`).
   */
  constructor(syscall: string, errno: number, description?: string) {
    const code = errnoName(errno);
    super(`${syscall}: ${code}${description ? ` (${description})` : ""}`);
    this.name = "ErrnoError";
    this.errno = errno;
    this.code = code;
    this.syscall = syscall;
  }

  /** `EADDRINUSE (Address already in use)`: the part a message quotes. */
  get detail(): string {
    return this.message.slice(this.syscall.length + 2);
  }
}

/**
 * A socket address as libc takes it: raw IP bytes, port and IPv6 scope.
 *
 * @example The IPv4 loopback address, port 31000
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RawSocketAddress } from "./libc.ts";
 * const address: RawSocketAddress = {
 *   family: "IPv4", ip: new Uint8Array([127, 0, 0, 1]), port: 31000, scopeId: 0,
 * };
 * assert.equal(address.ip.byteLength, 4);
 * ```
 */
export interface RawSocketAddress {
  /** Address family. */
  family: Family;
  /** 4 bytes (IPv4) or 16 bytes (IPv6), network order. */
  ip: Uint8Array;
  /** UDP port, host order. */
  port: number;
  /** IPv6 scope (interface index); 0 when none. */
  scopeId: number;
}

// Layout of the scratch buffer (one per library handle, main thread only;
// every call is synchronous, so one buffer serves them all).
const OPT = 0; // option values and multicast request structs (<= 264 bytes)
const POLLFD = 384; // a struct pollfd (poll)
const TIMESPEC = 400; // a struct timespec (clock_gettime)
/**
 * How long the pool thread of `Libc.ioTurn` sleeps, microseconds: longer
 * than this thread takes to reach `epoll_wait` (a call that returned at
 * once, `getpid`, often woke it before it got there, and the runtime then
 * looked at no I/O).
 */
const IO_TURN_SLEEP_US = 20;
const LEN = 512; // socklen_t in/out
const ADDR = 576; // a sockaddr (bind, sendto, getsockname)
const STR_IN = 640; // a C string handed to libc (255 bytes + NUL)
const STR_OUT = 1024; // a C string written by libc (inet_ntop, if_indextoname)
const DATA = 4096; // staging for the payload of sendto
const MAX_PAYLOAD = MAX_DATAGRAM_BYTES;
const SCRATCH_SIZE = DATA + MAX_PAYLOAD;
const MAX_C_STRING = 255;
/** `SO_MEMINFO` up to `SK_MEMINFO_DROPS`, the ninth `u32` (Linux 4.x and later). */
const MEMINFO_BYTES = 9 * 4;

/**
 * A reference-counted handle on libc for the main thread, with one
 * off-heap scratch buffer that every call encodes its arguments into.
 * Failing calls throw {@link ErrnoError}. Linux only; needs `--allow-ffi`.
 *
 * @example Open, bind and close a UDP socket
 * ```ts ignore
 * import { Libc } from "./libc.ts";
 * const libc = Libc.acquire();
 * try {
 *   const fd = libc.socket("IPv4");
 *   const ip = libc.parseAddress("IPv4", "127.0.0.1")!;
 *   libc.bind(fd, { family: "IPv4", ip, port: 0, scopeId: 0 });
 *   console.log(libc.socketName(fd).port);
 *   libc.close(fd);
 * } finally {
 *   libc.release();
 * }
 * ```
 */
export class Libc {
  static #shared: Libc | undefined;
  static #references = 0;

  /**
   * Opens libc on first use (or reuses the open handle); pair every call
   * with {@link Libc.release}. Throws when `libc.so.6` cannot be opened.
   */
  static acquire(): Libc {
    Libc.#shared ??= new Libc(Deno.dlopen(LIBC_PATH, LIBC_SYMBOLS));
    Libc.#references++;
    return Libc.#shared;
  }

  readonly #library: Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;
  readonly #fn: Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];
  readonly #errno: Deno.UnsafePointerView;
  // Held for as long as the handle is open: the pointers below point into it.
  readonly #scratch = new ArrayBuffer(SCRATCH_SIZE);
  readonly #view = new DataView(this.#scratch);
  readonly #bytes = new Uint8Array(this.#scratch);
  readonly #base: Deno.PointerObject;
  readonly #optPtr: Deno.PointerObject;
  readonly #lenPtr: Deno.PointerObject;
  readonly #addrPtr: Deno.PointerObject;
  readonly #strInPtr: Deno.PointerObject;
  readonly #strOutPtr: Deno.PointerObject;
  readonly #dataPtr: Deno.PointerObject;
  readonly #pollPtr: Deno.PointerObject;
  readonly #timespecPtr: Deno.PointerObject;
  readonly #encoder = new TextEncoder();
  /** The destination whose sockaddr is at `ADDR` (bind and getsockname overwrite it). */
  #encodedTo: RawSocketAddress | undefined;
  #encodedSize = 0;
  /** The length of the last datagram `sendTo` sent, and it as a BigInt. */
  #sendLength = -1;
  #sendLengthBig = 0n;

  private constructor(library: Deno.DynamicLibrary<typeof LIBC_SYMBOLS>) {
    this.#library = library;
    this.#fn = library.symbols;
    const errnoPointer = this.#fn.__errno_location();
    if (errnoPointer === null) throw new Error("__errno_location failed");
    // errno is thread-local; JavaScript always runs on this thread.
    this.#errno = new Deno.UnsafePointerView(errnoPointer);
    const base = Deno.UnsafePointer.of(this.#scratch);
    if (base === null) throw new Error("Cannot take a pointer to scratch");
    this.#base = base;
    this.#optPtr = this.#at(OPT);
    this.#lenPtr = this.#at(LEN);
    this.#addrPtr = this.#at(ADDR);
    this.#strInPtr = this.#at(STR_IN);
    this.#strOutPtr = this.#at(STR_OUT);
    this.#dataPtr = this.#at(DATA);
    this.#pollPtr = this.#at(POLLFD);
    this.#timespecPtr = this.#at(TIMESPEC);
  }

  #at(offset: number): Deno.PointerObject {
    return Deno.UnsafePointer.offset(this.#base, offset) as Deno.PointerObject;
  }

  /** Drops one reference; the last one closes the library. */
  release(): void {
    if (Libc.#shared !== this || Libc.#references === 0) return;
    if (--Libc.#references === 0) {
      Libc.#shared = undefined;
      this.#library.close();
    }
  }

  #fail(syscall: string): never {
    const errno = this.#errno.getInt32();
    throw new ErrnoError(syscall, errno, this.describe(errno));
  }

  /** The C library's description of an errno value (`strerror`). */
  describe(errno: number): string {
    const text = this.#fn.strerror(errno);
    return text === null ? "" : Deno.UnsafePointerView.getCString(text);
  }

  /** Opens a close-on-exec, blocking UDP socket; returns its descriptor. */
  socket(family: Family): number {
    const fd = this.#fn.socket(
      family === "IPv4" ? LINUX.AF_INET : LINUX.AF_INET6,
      LINUX.SOCK_DGRAM | LINUX.SOCK_CLOEXEC,
      0,
    );
    if (fd < 0) this.#fail("socket");
    return fd;
  }

  /** `setsockopt` with an `int` value. */
  setInt(fd: number, level: number, name: number, value: number): void {
    this.#view.setInt32(OPT, value, true);
    if (this.#fn.setsockopt(fd, level, name, this.#optPtr, 4) < 0) {
      this.#fail("setsockopt");
    }
  }

  /** `setsockopt` with a `struct timeval` of `milliseconds` (`SO_RCVTIMEO`). */
  setTimeval(fd: number, level: number, name: number, milliseconds: number) {
    this.#view.setBigInt64(OPT, BigInt(Math.floor(milliseconds / 1000)), true);
    this.#view.setBigInt64(OPT + 8, BigInt((milliseconds % 1000) * 1000), true);
    this.#setStruct(fd, level, name, 16);
  }

  /** `getsockopt` of an `int` value. */
  getInt(fd: number, level: number, name: number): number {
    this.#view.setInt32(OPT, 0, true);
    this.#view.setUint32(LEN, 4, true);
    if (this.#fn.getsockopt(fd, level, name, this.#optPtr, this.#lenPtr) < 0) {
      this.#fail("getsockopt");
    }
    // Linux answers a 1-byte value for some IPv4 options when asked so.
    return this.#view.getUint32(LEN, true) === 1
      ? this.#view.getUint8(OPT)
      : this.#view.getInt32(OPT, true);
  }

  /**
   * The kernel's drop count for the socket: `SK_MEMINFO_DROPS` of
   * `getsockopt(SO_MEMINFO)`, or `undefined` on a kernel that reports
   * fewer counters.
   */
  socketDrops(fd: number): number | undefined {
    this.#view.setUint32(LEN, MEMINFO_BYTES, true);
    const { getsockopt } = this.#fn;
    if (
      getsockopt(
        fd,
        LINUX.SOL_SOCKET,
        LINUX.SO_MEMINFO,
        this.#optPtr,
        this.#lenPtr,
      ) < 0
    ) {
      this.#fail("getsockopt");
    }
    return this.#view.getUint32(LEN, true) < MEMINFO_BYTES
      ? undefined
      : this.#view.getUint32(OPT + MEMINFO_BYTES - 4, true);
  }

  /** `getsockopt` of a 4-byte IPv4 address (`IP_MULTICAST_IF`). */
  getAddressOption(fd: number, level: number, name: number): Uint8Array {
    this.#view.setUint32(LEN, 4, true);
    if (this.#fn.getsockopt(fd, level, name, this.#optPtr, this.#lenPtr) < 0) {
      this.#fail("getsockopt");
    }
    return this.#bytes.slice(OPT, OPT + 4);
  }

  /**
   * `setsockopt` with `struct ip_mreqn` (IPv4 join/leave and
   * `IP_MULTICAST_IF`): group, local interface address and index.
   */
  setIpMreqn(
    fd: number,
    name: number,
    group: Uint8Array,
    iface: Uint8Array,
    ifindex: number,
  ): void {
    this.#bytes.set(group, OPT);
    this.#bytes.set(iface, OPT + 4);
    this.#view.setInt32(OPT + 8, ifindex, true);
    this.#setStruct(fd, LINUX.IPPROTO_IP, name, 12);
  }

  /** `setsockopt` with `struct ip_mreq_source` (IPv4 SSM by address). */
  setIpMreqSource(
    fd: number,
    name: number,
    group: Uint8Array,
    iface: Uint8Array,
    source: Uint8Array,
  ): void {
    this.#bytes.set(group, OPT);
    this.#bytes.set(iface, OPT + 4);
    this.#bytes.set(source, OPT + 8);
    this.#setStruct(fd, LINUX.IPPROTO_IP, name, 12);
  }

  /** `setsockopt` with `struct ipv6_mreq` (IPv6 join/leave). */
  setIpv6Mreq(
    fd: number,
    name: number,
    group: Uint8Array,
    ifindex: number,
  ): void {
    this.#bytes.set(group, OPT);
    this.#view.setUint32(OPT + 16, ifindex, true);
    this.#setStruct(fd, LINUX.IPPROTO_IPV6, name, 20);
  }

  /**
   * `setsockopt` with `struct group_source_req` (SSM by interface index,
   * `MCAST_JOIN_SOURCE_GROUP` / `MCAST_LEAVE_SOURCE_GROUP`), for IPv6 or
   * for IPv4 by interface name.
   */
  setGroupSourceReq(
    fd: number,
    level: number,
    name: number,
    family: Family,
    ifindex: number,
    group: Uint8Array,
    source: Uint8Array,
  ): void {
    this.#bytes.fill(0, OPT, OPT + 264);
    this.#view.setUint32(OPT, ifindex, true);
    this.#encodeSockaddr(OPT + 8, { family, ip: group, port: 0, scopeId: 0 });
    this.#encodeSockaddr(OPT + 136, {
      family,
      ip: source,
      port: 0,
      scopeId: 0,
    });
    this.#setStruct(fd, level, name, 264);
  }

  #setStruct(fd: number, level: number, name: number, size: number): void {
    if (this.#fn.setsockopt(fd, level, name, this.#optPtr, size) < 0) {
      this.#fail("setsockopt");
    }
  }

  #encodeSockaddr(offset: number, address: RawSocketAddress): number {
    return encodeSockaddr(this.#bytes, offset, address, this.#view);
  }

  /** Binds `fd` to an address. */
  bind(fd: number, address: RawSocketAddress): void {
    this.#encodedTo = undefined;
    const size = this.#encodeSockaddr(ADDR, address);
    if (this.#fn.bind(fd, this.#addrPtr, size) < 0) this.#fail("bind");
  }

  /** The address `fd` is bound to (`getsockname`). */
  socketName(fd: number): RawSocketAddress {
    this.#view.setUint32(LEN, 64, true);
    this.#encodedTo = undefined;
    if (this.#fn.getsockname(fd, this.#addrPtr, this.#lenPtr) < 0) {
      this.#fail("getsockname");
    }
    const view = this.#view;
    const port = view.getUint16(ADDR + 2, false);
    if (view.getUint16(ADDR, true) === LINUX.AF_INET) {
      const ip = this.#bytes.slice(ADDR + 4, ADDR + 8);
      return { family: "IPv4", ip, port, scopeId: 0 };
    }
    const ip = this.#bytes.slice(ADDR + 8, ADDR + 24);
    const scopeId = view.getUint32(ADDR + 24, true);
    return { family: "IPv6", ip, port, scopeId };
  }

  /**
   * Sends one datagram without blocking (`MSG_DONTWAIT`): copies `data`
   * into the off-heap staging area first. Throws {@link ErrnoError}
   * (`EAGAIN` when the send buffer is full).
   */
  sendTo(fd: number, data: Uint8Array, to: RawSocketAddress): void {
    if (data.byteLength > MAX_PAYLOAD) {
      throw new ErrnoError("sendto", LINUX.EMSGSIZE, this.describe(90));
    }
    this.#bytes.set(data, DATA);
    // The same destination as the last send: its sockaddr is there still.
    if (to !== this.#encodedTo) {
      this.#encodedSize = this.#encodeSockaddr(ADDR, to);
      this.#encodedTo = to;
    }
    const size = this.#encodedSize;
    // The length as the 64-bit size_t takes it: a BigInt made per length,
    // not per send (most sends repeat the last one's length).
    if (data.byteLength !== this.#sendLength) {
      this.#sendLength = data.byteLength;
      this.#sendLengthBig = BigInt(data.byteLength);
    }
    const sent = this.#fn.sendto(
      fd,
      this.#dataPtr,
      this.#sendLengthBig,
      LINUX.MSG_DONTWAIT,
      this.#addrPtr,
      size,
    );
    if (sent < 0n) this.#fail("sendto");
  }

  /**
   * Sends the `count` datagrams described by the `struct mmsghdr` array at
   * `headers` in one call, without blocking (`sendmmsg` with
   * `MSG_DONTWAIT`). The memory the headers point to must stay put for
   * the call (it is synchronous).
   *
   * @returns How many the kernel took, from the first; 0 when it took
   *   none because the send buffer is full (`EAGAIN`).
   * @throws {ErrnoError} when the first datagram fails for another reason.
   */
  sendMany(fd: number, headers: Deno.PointerObject, count: number): number {
    const sent = this.#fn.sendmmsg(fd, headers, count, LINUX.MSG_DONTWAIT);
    if (sent >= 0) return sent;
    const errno = this.#errno.getInt32();
    if (errno === LINUX.EAGAIN) return 0;
    throw new ErrnoError("sendmmsg", errno, this.describe(errno));
  }

  /**
   * Blocks this thread until `fd` has a datagram to read or `timeoutMs`
   * passed (`poll`).
   *
   * @returns Whether a read will not wait: a datagram came, or the
   *   socket has an error or was shut down (the read says which); false
   *   after the timeout or a signal (`EINTR`).
   */
  waitReadable(fd: number, timeoutMs: number): boolean {
    const view = this.#view;
    view.setInt32(POLLFD, fd, true);
    view.setInt16(POLLFD + 4, LINUX.POLLIN, true);
    view.setInt16(POLLFD + 6, 0, true);
    return this.#fn.poll(this.#pollPtr, 1n, timeoutMs) > 0;
  }

  /**
   * Now on the kernel clock (`clock_gettime(CLOCK_REALTIME)`), in
   * milliseconds as `kernel_clock.ts` counts them: the clock of the
   * kernel's receive time stamps.
   */
  kernelNow(): number {
    this.#fn.clock_gettime(LINUX.CLOCK_REALTIME, this.#timespecPtr);
    return timespecMs(this.#view, TIMESPEC);
  }

  /**
   * A call that does nothing for a moment (`usleep`) on a blocking-pool
   * thread: awaiting it, this thread waits in the runtime's `epoll_wait`,
   * which is where Deno's runtime looks at its I/O (signals, sockets
   * read through Deno, timers). ~85-110 us here, this thread idle; see
   * `event_loop_turns.ts`.
   *
   * @returns When the call has returned.
   */
  async ioTurn(): Promise<void> {
    await this.#fn.usleep_wait(IO_TURN_SLEEP_US);
  }

  /** `shutdown(fd, how)`; errors are returned, not thrown. */
  shutdown(fd: number, how: number): number {
    return this.#fn.shutdown(fd, how) < 0 ? this.#errno.getInt32() : 0;
  }

  /**
   * Takes the datagrams queued on `fd` without waiting (`recvmmsg` with
   * `MSG_DONTWAIT`) into the `count` headers at `headers`.
   *
   * @returns How many arrived; 0 when none was queued (`EAGAIN`, `EINTR`).
   * @throws {ErrnoError} for any other failure.
   */
  receiveQueued(
    fd: number,
    headers: Deno.PointerObject,
    count: number,
  ): number {
    return this.#receive(fd, headers, count, LINUX.MSG_DONTWAIT);
  }

  /**
   * Waits on this thread until at least one datagram arrives on `fd` (or
   * its `SO_RCVTIMEO` passes), then takes up to `count` of them
   * (`recvmmsg` with `MSG_WAITFORONE`), blocking the thread meanwhile.
   *
   * @returns How many arrived; 0 when none did in time (`EAGAIN`) or a
   *   signal came (`EINTR`).
   * @throws {ErrnoError} for any other failure.
   */
  receiveBlocking(
    fd: number,
    headers: Deno.PointerObject,
    count: number,
  ): number {
    return this.#receive(fd, headers, count, LINUX.MSG_WAITFORONE);
  }

  /**
   * `recvmmsg` on this thread with `flags`: how many arrived, 0 for
   * `EAGAIN` (none queued, or `SO_RCVTIMEO` passed) and `EINTR`; throws
   * {@link ErrnoError} for any other failure.
   */
  #receive(
    fd: number,
    headers: Deno.PointerObject,
    count: number,
    flags: number,
  ): number {
    const received = this.#fn.recvmmsg(fd, headers, count, flags, null);
    if (received >= 0) return received;
    const errno = this.#errno.getInt32();
    if (errno === LINUX.EAGAIN || errno === LINUX.EINTR) return 0;
    throw new ErrnoError("recvmmsg", errno, this.describe(errno));
  }

  /**
   * Waits on a pool thread until at least one datagram arrives on `fd`
   * (or its `SO_RCVTIMEO` passes), then takes up to `count` of them
   * (`recvmmsg` with `MSG_WAITFORONE`). The memory at `headers` must not
   * move nor be freed until the promise settles.
   *
   * @returns How many arrived, or -1 on failure (errno is the pool
   *   thread's: call {@linkcode Libc.receiveQueued} to learn the cause).
   */
  receiveWaiting(
    fd: number,
    headers: Deno.PointerObject,
    count: number,
  ): Promise<number> {
    return this.#fn.recvmmsg_wait(
      fd,
      headers,
      count,
      LINUX.MSG_WAITFORONE,
      null,
    );
  }

  /** `close(fd)`; errors are returned, not thrown. */
  close(fd: number): number {
    return this.#fn.close(fd) < 0 ? this.#errno.getInt32() : 0;
  }

  #cString(text: string): boolean {
    const { read, written } = this.#encoder.encodeInto(
      text,
      this.#bytes.subarray(STR_IN, STR_IN + MAX_C_STRING),
    );
    if (
      read !== text.length || this.#bytes.indexOf(0, STR_IN) < STR_IN + written
    ) {
      return false; // too long, or holds a NUL
    }
    this.#bytes[STR_IN + written] = 0;
    return true;
  }

  /**
   * Parses a numeric address of `family` (`inet_pton`, no zone, no host
   * names); null when it is not one.
   */
  parseAddress(family: Family, text: string): Uint8Array | null {
    if (!this.#cString(text)) return null;
    const af = family === "IPv4" ? LINUX.AF_INET : LINUX.AF_INET6;
    if (this.#fn.inet_pton(af, this.#strInPtr, this.#optPtr) !== 1) return null;
    return this.#bytes.slice(OPT, OPT + (family === "IPv4" ? 4 : 16));
  }

  /** Formats 4 or 16 address bytes (`inet_ntop`). */
  formatAddress(ip: Uint8Array): string {
    this.#bytes.set(ip, OPT);
    const af = ip.byteLength === 4 ? LINUX.AF_INET : LINUX.AF_INET6;
    const text = this.#fn.inet_ntop(af, this.#optPtr, this.#strOutPtr, 64);
    if (text === null) this.#fail("inet_ntop");
    return Deno.UnsafePointerView.getCString(text);
  }

  /** The index of the interface called `name`, or 0 when there is none. */
  interfaceIndex(name: string): number {
    if (!this.#cString(name)) return 0;
    return this.#fn.if_nametoindex(this.#strInPtr);
  }

  /** The name of the interface with index `index`, when there is one. */
  interfaceName(index: number): string | undefined {
    const name = this.#fn.if_indextoname(index, this.#strOutPtr);
    return name === null ? undefined : Deno.UnsafePointerView.getCString(name);
  }
}

/**
 * Writes `address` as a `struct sockaddr_in` or `struct sockaddr_in6` into
 * `bytes` at `offset`; returns its size. `view` is a `DataView` of the
 * same memory as `bytes` (made when not given).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeSockaddr } from "./libc.ts";
 * const bytes = new Uint8Array(32);
 * const size = encodeSockaddr(bytes, 0, {
 *   family: "IPv4", ip: new Uint8Array([239, 1, 2, 3]), port: 5000, scopeId: 0,
 * });
 * assert.equal(size, 16);
 * assert.deepEqual([...bytes.subarray(2, 8)], [0x13, 0x88, 239, 1, 2, 3]);
 * ```
 */
export function encodeSockaddr(
  bytes: Uint8Array,
  offset: number,
  address: RawSocketAddress,
  view: DataView = new DataView(
    bytes.buffer,
    bytes.byteOffset,
    bytes.byteLength,
  ),
): number {
  if (address.family === "IPv4") {
    bytes.fill(0, offset, offset + MMSG.SOCKADDR_IN_SIZE);
    view.setUint16(offset, LINUX.AF_INET, true);
    view.setUint16(offset + 2, address.port, false);
    bytes.set(address.ip, offset + 4);
    return MMSG.SOCKADDR_IN_SIZE;
  }
  bytes.fill(0, offset, offset + MMSG.SOCKADDR_IN6_SIZE);
  view.setUint16(offset, LINUX.AF_INET6, true);
  view.setUint16(offset + 2, address.port, false);
  bytes.set(address.ip, offset + 8);
  view.setUint32(offset + 24, address.scopeId, true);
  return MMSG.SOCKADDR_IN6_SIZE;
}
