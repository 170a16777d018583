// How to reach and authenticate to a server: the same contract as the C++ client and the CLI.
//   token       --token / STEPFLOW_TOKEN             bearer token, sent as "authorization: Bearer TOKEN"
//   tls         --tls / STEPFLOW_TLS=true            TLS (implied by caCert, clientCert and clientKey)
//   caCert      --ca-cert / STEPFLOW_CA_CERT         PEM file of the CA that signed the server's certificate
//                                                    ("" = the system's roots)
//   clientCert  --client-cert / STEPFLOW_CLIENT_CERT PEM file of the client certificate (mutual TLS)
//   clientKey   --client-key / STEPFLOW_CLIENT_KEY   PEM file of its private key
import * as grpc from '@grpc/grpc-js';
import { readFileSync, statSync } from 'node:fs';

import { makeError } from './errors.js';

/** A PEM file larger than this is refused (as the C++ client does). */
export const MAX_PEM_FILE_BYTES = 1 << 20;

export interface ClientOptions {
  /** Deadline (ms) of every call except startSyncExecution, watchExecutionHistory and pollTask. Default: 30000. */
  callTimeoutMs?: number;
  /** Largest message received. Default: 8 MiB, as the server. */
  maxMessageBytes?: number;
  /** Bearer token for servers with a token file. Default: none. */
  token?: string;
  /** TLS and its files (see above). Default: plaintext. */
  tls?: boolean;
  caCert?: string;
  clientCert?: string;
  clientKey?: string;
  /** Longest wait (ms) between two attempts to reconnect, so that workers are back within a second of a
   * restart. Default: 500. */
  maxReconnectBackoffMs?: number;
}

export const DEFAULT_CALL_TIMEOUT_MS = 30000;

/** A copy of `options` whose unset fields are filled from STEPFLOW_TOKEN, STEPFLOW_TLS, STEPFLOW_CA_CERT,
 * STEPFLOW_CLIENT_CERT and STEPFLOW_CLIENT_KEY. InvalidArgument for STEPFLOW_TLS other than true/false/1/0. */
export function withEnvironment(options: ClientOptions = {}, env: NodeJS.ProcessEnv = process.env): ClientOptions {
  const o: ClientOptions = { ...options };
  o.token = o.token || env.STEPFLOW_TOKEN || undefined;
  o.caCert = o.caCert || env.STEPFLOW_CA_CERT || undefined;
  o.clientCert = o.clientCert || env.STEPFLOW_CLIENT_CERT || undefined;
  o.clientKey = o.clientKey || env.STEPFLOW_CLIENT_KEY || undefined;
  const tls = env.STEPFLOW_TLS;
  if (tls) {
    if (!['true', 'false', '1', '0'].includes(tls)) {
      throw makeError('InvalidArgument', `InvalidArgument: STEPFLOW_TLS must be true or false, not '${tls.slice(0, 64)}'`,
        grpc.status.INVALID_ARGUMENT);
    }
    o.tls = o.tls || tls === 'true' || tls === '1';
  }
  return o;
}

function readPem(path: string, what: string): Buffer {
  try {
    const stat = statSync(path);
    if (!stat.isFile() || stat.size > MAX_PEM_FILE_BYTES || stat.size === 0) {
      throw new Error('size');
    }
    return readFileSync(path);
  } catch {
    throw makeError('InvalidArgument',
      `InvalidArgument: ${what} ${path}: not a readable file of at most ${MAX_PEM_FILE_BYTES} bytes`,
      grpc.status.INVALID_ARGUMENT);
  }
}

/** Channel credentials for `options`: insecure, or TLS with its files. InvalidArgument when a file cannot be
 * read, is larger than 1 MiB, or only one of clientCert and clientKey is given. */
export function channelCredentials(options: ClientOptions): grpc.ChannelCredentials {
  const tls = options.tls || !!options.caCert || !!options.clientCert || !!options.clientKey;
  if (!tls) {
    return grpc.credentials.createInsecure();
  }
  if (!!options.clientCert !== !!options.clientKey) {
    throw makeError('InvalidArgument', 'InvalidArgument: --client-cert and --client-key go together',
      grpc.status.INVALID_ARGUMENT);
  }
  const root = options.caCert ? readPem(options.caCert, '--ca-cert') : null;
  const key = options.clientKey ? readPem(options.clientKey, '--client-key') : null;
  const cert = options.clientCert ? readPem(options.clientCert, '--client-cert') : null;
  return grpc.credentials.createSsl(root, key, cert);
}

export function channelOptions(options: ClientOptions): grpc.ChannelOptions {
  const backoff = Math.max(1, options.maxReconnectBackoffMs ?? 500);
  return {
    'grpc.max_receive_message_length': options.maxMessageBytes ?? 8 << 20,
    'grpc.initial_reconnect_backoff_ms': Math.min(100, backoff),
    'grpc.max_reconnect_backoff_ms': backoff,
    'grpc.use_local_subchannel_pool': 1,
  };
}
