#!/usr/bin/env node
// A UDP relay (on 127.0.0.1, an ephemeral port, unless told where) that forwards DNS queries to an upstream
// (the local dnsmasq) and holds each answer for a fixed delay: a stand-in for a recursive resolver some
// milliseconds away, for measure-enrich.mjs and the bench's dns/online case.
// Prints "port <n>" on stdout when ready; exits when stdin closes (its parent went away).
//   node delay-relay.mjs <upstream host:port> <delay ms> [<listen host:port>]
// (A listen address matters for a client that can only ask port 53, as the original parsedmarc's -n does.)
import dgram from 'node:dgram';

const [upstream = '127.0.0.1:15353', delayText = '20', listen = '127.0.0.1:0'] = process.argv.slice(2);
const hostPort = (text) => [
  text.slice(0, text.lastIndexOf(':')),
  Number(text.slice(text.lastIndexOf(':') + 1)),
];
const [upstreamHost, upstreamPort] = hostPort(upstream);
const [listenHost, listenPort] = hostPort(listen);
const delayMs = Number(delayText);

const front = dgram.createSocket('udp4');
const back = dgram.createSocket('udp4');
// DNS message id -> the client that asked (one client at a time uses the relay, and its ids are unique
// among its queries in flight).
const clients = new Map();
front.on('message', (msg, rinfo) => {
  if (msg.length < 12) return;
  clients.set(msg.readUInt16BE(0), rinfo);
  back.send(msg, upstreamPort, upstreamHost);
});
back.on('message', (msg) => {
  if (msg.length < 12) return;
  const id = msg.readUInt16BE(0);
  const client = clients.get(id);
  if (!client) return;
  clients.delete(id);
  setTimeout(() => front.send(msg, client.port, client.address), delayMs);
});
back.bind(0, '127.0.0.1', () => {
  front.bind(listenPort, listenHost, () => {
    process.stdout.write(`port ${front.address().port}\n`);
  });
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
