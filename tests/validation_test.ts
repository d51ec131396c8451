import assert from "node:assert/strict";
import {
  addressFamily,
  isMulticast,
  isSourceSpecific,
  parseIPv4,
  parseIPv6,
  validateUnicast,
} from "../lib/address.ts";
import { parseDuration } from "../lib/duration.ts";
import { McastRangeError, McastTypeError } from "../lib/errors.ts";
import { type MulticastGroup, parseGroup } from "../lib/group.ts";
import { resolveInterface } from "../lib/interface.ts";
import { validateCount, validatePort, validateTtl } from "../lib/numbers.ts";

function throwsCoded(
  fn: () => unknown,
  kind: typeof McastTypeError | typeof McastRangeError,
  code: string,
  naming: string,
) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof kind, `expected ${kind.name}, got ${error}`);
    assert.equal((error as McastTypeError).code, code);
    assert.ok(
      (error as Error).message.includes(naming),
      `message "${(error as Error).message}" should name ${naming}`,
    );
    return true;
  });
}

Deno.test("parseIPv4 accepts dotted quads and rejects everything else", () => {
  assert.equal(parseIPv4("0.0.0.0"), 0);
  assert.equal(parseIPv4("255.255.255.255"), 0xffffffff);
  assert.equal(parseIPv4("224.3.29.71"), 0xe0031d47);
  for (
    const bad of [
      "256.0.0.1",
      "1.2.3",
      "1.2.3.4.5",
      "a.b.c.d",
      "",
      " 1.2.3.4",
      "1.2.3.-4",
    ]
  ) {
    assert.equal(parseIPv4(bad), undefined, bad);
  }
});

Deno.test("parseIPv6 handles compression, zones and embedded IPv4", () => {
  assert.deepEqual(parseIPv6("::"), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(parseIPv6("::1"), [0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(parseIPv6("ff02::1:3a71"), [
    0xff02,
    0,
    0,
    0,
    0,
    0,
    1,
    0x3a71,
  ]);
  assert.deepEqual(parseIPv6("1:2:3:4:5:6:7:8"), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(parseIPv6("::ffff:1.2.3.4"), [
    0,
    0,
    0,
    0,
    0,
    0xffff,
    0x102,
    0x304,
  ]);
  assert.deepEqual(parseIPv6("fe80::1%eth0"), [0xfe80, 0, 0, 0, 0, 0, 0, 1]);
  for (
    const bad of [
      "1::2::3",
      ":1",
      "1:2:3:4:5:6:7:8:9",
      "12345::",
      "fe80::1%",
      "g::1",
      "1.2.3.4",
    ]
  ) {
    assert.equal(parseIPv6(bad), undefined, bad);
  }
});

Deno.test("multicast ranges: 224.0.0.0/4, ff00::/8 and the SSM ranges", () => {
  for (
    const group of [
      "224.0.0.0",
      "224.3.29.71",
      "239.255.255.255",
      "ff02::1",
      "ff3e::1234",
    ]
  ) {
    assert.ok(isMulticast(group), group);
  }
  for (
    const address of [
      "223.255.255.255",
      "240.0.0.0",
      "10.0.0.1",
      "fe80::1",
      "::1",
      "eth0",
    ]
  ) {
    assert.ok(!isMulticast(address), address);
  }
  assert.ok(isSourceSpecific("232.1.2.3"));
  assert.ok(isSourceSpecific("ff3e::8000:1"));
  assert.ok(!isSourceSpecific("239.1.2.3"));
  assert.ok(!isSourceSpecific("ff02::1"));
  assert.equal(addressFamily("ff02::1"), "IPv6");
});

Deno.test("parseGroup names the bad value and the rule", () => {
  assert.deepEqual(parseGroup("239.1.2.3"), {
    address: "239.1.2.3",
    family: "IPv4",
    scope: "admin",
    ssm: false,
  });
  assert.deepEqual(parseGroup("ff02::1:3a71"), {
    address: "ff02::1:3a71",
    family: "IPv6",
    scope: "link-local",
    ssm: false,
  });
  throwsCoded(
    () => parseGroup("not-an-ip"),
    McastTypeError,
    "ERR_INVALID_GROUP",
    '"not-an-ip"',
  );
  throwsCoded(
    () => parseGroup("10.0.0.1"),
    McastRangeError,
    "ERR_INVALID_GROUP",
    "224.0.0.0/4",
  );
  throwsCoded(
    () => parseGroup("fe80::1"),
    McastRangeError,
    "ERR_INVALID_GROUP",
    '"fe80::1"',
  );
  throwsCoded(
    () => parseGroup(42 as unknown as string),
    McastTypeError,
    "ERR_INVALID_GROUP",
    "42",
  );
});

Deno.test("parseGroup tells each group's scope and whether it is in the SSM range", () => {
  const cases: [string, MulticastGroup["scope"], boolean][] = [
    ["224.0.0.251", "link-local", false],
    ["224.0.1.1", "global", false],
    ["224.3.29.71", "global", false],
    ["232.1.2.3", "global", true],
    ["239.192.0.1", "admin", false],
    ["239.255.255.250", "site-local", false],
    ["ff01::1", "interface-local", false],
    ["ff02::fb", "link-local", false],
    ["ff32::1", "link-local", true],
    ["ff14::1", "admin", false],
    ["ff05::2", "site-local", false],
    ["ff18::1", "admin", false],
    ["ff0e::101", "global", false],
    ["FF3E::8000:1", "global", true],
  ];
  for (const [address, scope, ssm] of cases) {
    const group = parseGroup(address);
    assert.equal(group.scope, scope, address);
    assert.equal(group.ssm, ssm, address);
    assert.equal(group.ssm, isSourceSpecific(address), address);
  }
});

Deno.test("parseGroup: a source of the group's family, once; a parsed group is not parsed again", () => {
  const channel = parseGroup("232.1.1.1", { source: "10.0.0.1" });
  assert.equal(channel.source, "10.0.0.1");
  assert.ok(Object.isFrozen(channel));
  // The value made here comes back as it is.
  assert.equal(parseGroup(channel), channel);
  assert.equal(parseGroup(channel, { source: "10.0.0.1" }), channel);
  const group = parseGroup("239.1.1.1");
  assert.equal(parseGroup(group), group);
  assert.equal(
    parseGroup(group, { source: "10.0.0.2" }).source,
    "10.0.0.2",
  );
  throwsCoded(
    () => parseGroup(channel, { source: "10.0.0.2" }),
    McastTypeError,
    "ERR_INVALID_SOURCE",
    "10.0.0.1",
  );
  throwsCoded(
    () => parseGroup("239.1.1.1", { source: "fd77::1" }),
    McastTypeError,
    "ERR_INVALID_SOURCE",
    "an IPv6 sender cannot send to the IPv4 group 239.1.1.1",
  );
  throwsCoded(
    () => parseGroup("ff3e::1", { source: "239.1.1.1" }),
    McastTypeError,
    "ERR_INVALID_SOURCE",
    '"239.1.1.1"',
  );
  // One made by hand is checked as text would be.
  const forged = { address: "10.0.0.1", family: "IPv4", scope: "global" };
  throwsCoded(
    () => parseGroup(forged as unknown as MulticastGroup),
    McastRangeError,
    "ERR_INVALID_GROUP",
    "10.0.0.1",
  );
});

Deno.test("validateUnicast rejects non-addresses and multicast sources", () => {
  assert.equal(validateUnicast("10.0.0.2", "source"), "IPv4");
  throwsCoded(
    () => validateUnicast("239.1.1.1", "source"),
    McastTypeError,
    "ERR_INVALID_SOURCE",
    "239.1.1.1",
  );
  throwsCoded(
    () => validateUnicast("x", "interface"),
    McastTypeError,
    "ERR_INVALID_INTERFACE",
    '"x"',
  );
});

Deno.test("validatePort: 1-65535, 0 only when allowed, integers only", () => {
  assert.equal(validatePort(1), 1);
  assert.equal(validatePort("65535"), 65535);
  assert.equal(validatePort(0, { allowZero: true }), 0);
  throwsCoded(() => validatePort(0), McastRangeError, "ERR_INVALID_PORT", "0");
  throwsCoded(
    () => validatePort(65536),
    McastRangeError,
    "ERR_INVALID_PORT",
    "65536",
  );
  throwsCoded(
    () => validatePort("abc"),
    McastTypeError,
    "ERR_INVALID_PORT",
    '"abc"',
  );
  throwsCoded(
    () => validatePort(1.5),
    McastTypeError,
    "ERR_INVALID_PORT",
    "1.5",
  );
  throwsCoded(
    () => validatePort("1e3"),
    McastTypeError,
    "ERR_INVALID_PORT",
    "1e3",
  );
});

Deno.test("validateTtl: integers 0-255", () => {
  assert.equal(validateTtl(0), 0);
  assert.equal(validateTtl("255"), 255);
  throwsCoded(
    () => validateTtl(256),
    McastRangeError,
    "ERR_INVALID_TTL",
    "256",
  );
  throwsCoded(
    () => validateTtl("-1"),
    McastRangeError,
    "ERR_INVALID_TTL",
    "-1",
  );
  throwsCoded(() => validateTtl("x"), McastTypeError, "ERR_INVALID_TTL", '"x"');
});

Deno.test("validateCount: integers >= 0", () => {
  assert.equal(validateCount("0"), 0);
  throwsCoded(
    () => validateCount(-2),
    McastRangeError,
    "ERR_INVALID_COUNT",
    "-2",
  );
  throwsCoded(
    () => validateCount("many"),
    McastTypeError,
    "ERR_INVALID_COUNT",
    '"many"',
  );
});

Deno.test("parseDuration: ms, s, m, bare milliseconds", () => {
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("2s"), 2000);
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("1m"), 60000);
  assert.equal(parseDuration("250"), 250);
  assert.equal(parseDuration(0), 0);
  throwsCoded(
    () => parseDuration("soon", "timeout"),
    McastTypeError,
    "ERR_INVALID_DURATION",
    '"soon"',
  );
  throwsCoded(
    () => parseDuration("-1s"),
    McastTypeError,
    "ERR_INVALID_DURATION",
    '"-1s"',
  );
  throwsCoded(
    () => parseDuration(-5),
    McastRangeError,
    "ERR_INVALID_DURATION",
    "-5",
  );
  throwsCoded(
    () => parseDuration(Infinity),
    McastRangeError,
    "ERR_INVALID_DURATION",
    "Infinity",
  );
});

Deno.test("resolveInterface: by address, by name, and clear errors", () => {
  const list = [
    { name: "lo", family: "IPv4" as const, address: "127.0.0.1" },
    { name: "lo", family: "IPv6" as const, address: "::1" },
    { name: "v6only", family: "IPv6" as const, address: "fe80::2" },
  ];
  assert.equal(resolveInterface("127.0.0.1", "IPv4", list), "127.0.0.1");
  assert.equal(resolveInterface("lo", "IPv4", list), "127.0.0.1");
  assert.equal(resolveInterface("lo", "IPv6", list), "::%lo");
  throwsCoded(
    () => resolveInterface("eth9", "IPv4", list),
    McastTypeError,
    "ERR_INVALID_INTERFACE",
    '"eth9"',
  );
  throwsCoded(
    () => resolveInterface("v6only", "IPv4", list),
    McastTypeError,
    "ERR_INVALID_INTERFACE",
    "no IPv4",
  );
  throwsCoded(
    () => resolveInterface("239.1.1.1", "IPv4", list),
    McastTypeError,
    "ERR_INVALID_INTERFACE",
    "multicast",
  );
  throwsCoded(
    () => resolveInterface("::1", "IPv4", list),
    McastTypeError,
    "ERR_INVALID_INTERFACE",
    "IPv6",
  );
  throwsCoded(
    () => resolveInterface("bad name!", "IPv4", list),
    McastTypeError,
    "ERR_INVALID_INTERFACE",
    '"bad name!"',
  );
});

Deno.test("resolveInterface looks names up on this host", () => {
  assert.equal(resolveInterface("lo", "IPv4"), "127.0.0.1");
});

Deno.test("resolveInterface: an address must be this host's; IPv6 maps to its interface", () => {
  const list = [
    { name: "eth0", family: "IPv4" as const, address: "10.77.1.2" },
    { name: "eth0", family: "IPv6" as const, address: "fd77:1::2" },
  ];
  assert.equal(resolveInterface("10.77.1.2", "IPv4", list), "10.77.1.2");
  assert.equal(resolveInterface("fd77:1:0::2", "IPv6", list), "::%eth0");
  assert.equal(resolveInterface("fe80::1%eth0", "IPv6", list), "fe80::1%eth0");
  throwsCoded(
    () => resolveInterface("10.77.9.9", "IPv4", list),
    McastTypeError,
    "ERR_INVALID_INTERFACE",
    'No interface on this host has the address "10.77.9.9"',
  );
  throwsCoded(
    () => resolveInterface("fd77:9::9", "IPv6", list),
    McastTypeError,
    "ERR_INVALID_INTERFACE",
    "eth0 fd77:1::2",
  );
});

Deno.test("resolveInterface reads the host's list at most once a second, and again before it reports a miss", async () => {
  const deno = Deno as { networkInterfaces: typeof Deno.networkInterfaces };
  const original = deno.networkInterfaces;
  let reads = 0;
  deno.networkInterfaces = () => {
    reads++;
    return original();
  };
  try {
    // Let an earlier test's read expire.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    for (let i = 0; i < 5; i++) {
      assert.equal(resolveInterface("127.0.0.1", "IPv4"), "127.0.0.1");
      assert.equal(resolveInterface("lo", "IPv4"), "127.0.0.1");
    }
    assert.equal(reads, 1, "ten lookups, one read");
    // A miss is checked against a fresh list before it is reported.
    assert.throws(
      () => resolveInterface("127.9.9.9", "IPv4"),
      /No interface on this host has the address "127\.9\.9\.9"/,
    );
    assert.throws(() => resolveInterface("nosuch0", "IPv4"), /nosuch0/);
    assert.equal(reads, 3);
  } finally {
    deno.networkInterfaces = original;
  }
});
