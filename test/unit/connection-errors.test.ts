/**
 * No server at the address is one clear line, not the transport's error chain; anything else
 * (TLS, credentials) says so without the chain. The chain stays as the cause, for --debug.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { unreachable } from '../../src/runtime/connection';

/** What the SDK's two connections really throw when nothing listens (captured from @temporalio 1.24). */
const NATIVE_REFUSED = 'tonic::transport::Error(Transport, ConnectError(ConnectError("tcp connect error", 127.0.0.1:42765, Os { code: 111, kind: ConnectionRefused, message: "Connection refused" })))';
const CLIENT_DEADLINE = 'Failed to connect before the deadline';

describe('connection errors', () => {
  it('no server answering: one line with the address and how to start one', () => {
    for (const message of [NATIVE_REFUSED, CLIENT_DEADLINE, '14 UNAVAILABLE: No connection established']) {
      const err = unreachable('127.0.0.1:42765', new Error(message));
      assert.equal(err.message, 'no Temporal server answers at 127.0.0.1:42765; start one with `talos-upgrade server --detach`, or set TEMPORAL_ADDRESS to the one you run');
      assert.equal((err.cause as Error).message, message, 'the raw error is kept for --debug');
    }
  });

  it('a server that refuses the handshake or the credentials is named as such, without the chain', () => {
    const tls = unreachable('temporal.example:7233', new Error('tonic::transport::Error(Transport, hyper::Error(Connect, Custom { kind: InvalidData, error: InvalidCertificate(UnknownIssuer) }))'));
    assert.match(tls.message, /^the Temporal server at temporal\.example:7233 did not accept the connection \(TLS\); check TEMPORAL_ADDRESS, TEMPORAL_TLS_\* and TEMPORAL_API_KEY$/);
    const auth = unreachable('temporal.example:7233', new Error('16 UNAUTHENTICATED: invalid API key'));
    assert.match(auth.message, /\(credentials\)/);
    assert.doesNotMatch(`${tls.message}${auth.message}`, /tonic|hyper|UnknownIssuer/);
  });
});
