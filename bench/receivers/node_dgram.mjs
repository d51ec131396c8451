/**
 * Baseline receiver: the least code that receives a group with Node.js's
 * own `dgram` (run by `node`, not Deno). Speaks the protocol of
 * `../receiver_protocol.ts`:
 *
 *   node node_dgram.mjs MODE GROUP PORT MAX_SECONDS LISTENERS
 *
 * @module
 */

import dgram from "node:dgram";
import { performance } from "node:perf_hooks";
import process from "node:process";
import readline from "node:readline";

const LOOPBACK = "127.0.0.1";
const [mode, group, portText, maxText, listenersText] = process.argv.slice(2);
const port = Number(portText);
if (
  (mode !== "sink" && mode !== "ack") || !group.startsWith("239.50.") ||
  !(port >= 50000 && port <= 50999)
) {
  throw new RangeError(`node_dgram.mjs: refusing ${mode} ${group}:${port}`);
}
const maxSeconds = Number(maxText);
const listeners = Number(listenersText);
const ack = new TextEncoder().encode("ack");
let received = 0;
let replied = 0;
let firstAt = 0;
let lastAt = 0;
const hit = () => {
  const now = performance.now();
  if (received++ === 0) firstAt = now;
  lastAt = now;
};
const print = (event) => process.stdout.write(JSON.stringify(event) + "\n");

const sockets = [];
for (let i = 0; i < listeners; i++) {
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
  if (mode === "ack") {
    socket.on("message", (_message, rinfo) => {
      hit();
      replied++;
      socket.send(ack, rinfo.port, rinfo.address);
    });
  } else {
    socket.on("message", hit);
  }
  await new Promise((resolve) => socket.bind(port, group, resolve));
  socket.addMembership(group, LOOPBACK);
  sockets.push(socket);
}

let finishing = false;
function finish() {
  if (finishing) return;
  finishing = true;
  clearTimeout(limit);
  const stopAt = performance.now();
  const check = setInterval(() => {
    const now = performance.now();
    const idle = received === 0 || now - lastAt >= 100;
    if (!idle && now - stopAt < 2000) return;
    clearInterval(check);
    for (const socket of sockets) socket.close();
    print({
      event: "report",
      received,
      replied,
      seconds: (lastAt - firstAt) / 1000,
    });
    process.exit(0);
  }, 25);
}
const limit = setTimeout(finish, maxSeconds * 1000);

print({ event: "ready" });
const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (line.trim() === "reset") {
    received = replied = 0;
    firstAt = lastAt = 0;
    print({ event: "reset" });
  } else if (line.trim() === "stop") finish();
});
lines.on("close", finish);
