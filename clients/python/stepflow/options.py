"""How to reach and authenticate to a server: the same contract as the C++ client and the CLI.

  token        --token / STEPFLOW_TOKEN             bearer token, sent as "authorization: Bearer TOKEN"
  tls          --tls / STEPFLOW_TLS=true            TLS (implied by ca_cert, client_cert and client_key)
  ca_cert      --ca-cert / STEPFLOW_CA_CERT         PEM file of the CA that signed the server's certificate
                                                    ("" = the system's roots)
  client_cert  --client-cert / STEPFLOW_CLIENT_CERT PEM file of the client certificate (mutual TLS)
  client_key   --client-key / STEPFLOW_CLIENT_KEY   PEM file of its private key
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import List, Optional, Tuple

import grpc

from stepflow.errors import make_error

# A PEM file larger than this is refused (as the C++ client does).
MAX_PEM_FILE_BYTES = 1 << 20


@dataclass
class ClientOptions:
    # Deadline of every call except start_sync_execution (its own timeout), watch_execution_history (none)
    # and poll_task (its wait plus this). Default: 30 s.
    call_timeout: float = 30.0
    # Largest message received. Default: 8 MiB, as the server.
    max_message_bytes: int = 8 << 20
    # Bearer token for servers with a token file. Default: "" = none.
    token: str = ""
    # TLS and its files (see above). Default: plaintext.
    tls: bool = False
    ca_cert: str = ""
    client_cert: str = ""
    client_key: str = ""
    # Longest wait between two attempts to reconnect to a server that went away. Short, so that workers are
    # back within a second of a restart. Default: 0.5 s.
    max_reconnect_backoff: float = 0.5

    def with_environment(self) -> "ClientOptions":
        """A copy whose empty fields are filled from STEPFLOW_TOKEN, STEPFLOW_TLS, STEPFLOW_CA_CERT,
        STEPFLOW_CLIENT_CERT and STEPFLOW_CLIENT_KEY. InvalidArgument for STEPFLOW_TLS other than
        true/false/1/0."""
        o = dataclasses.replace(self)
        o.token = o.token or os.environ.get("STEPFLOW_TOKEN", "")
        o.ca_cert = o.ca_cert or os.environ.get("STEPFLOW_CA_CERT", "")
        o.client_cert = o.client_cert or os.environ.get("STEPFLOW_CLIENT_CERT", "")
        o.client_key = o.client_key or os.environ.get("STEPFLOW_CLIENT_KEY", "")
        tls = os.environ.get("STEPFLOW_TLS", "")
        if tls:
            if tls not in ("true", "false", "1", "0"):
                raise make_error("InvalidArgument",
                                 f"InvalidArgument: STEPFLOW_TLS must be true or false, not '{tls[:64]}'",
                                 grpc.StatusCode.INVALID_ARGUMENT)
            o.tls = o.tls or tls in ("true", "1")
        return o

    @property
    def uses_tls(self) -> bool:
        return self.tls or bool(self.ca_cert or self.client_cert or self.client_key)

    def metadata(self) -> Optional[List[Tuple[str, str]]]:
        """The call metadata: the bearer token when there is one."""
        return [("authorization", f"Bearer {self.token}")] if self.token else None

    def channel_options(self) -> List[Tuple[str, int]]:
        backoff_ms = max(1, int(self.max_reconnect_backoff * 1000))
        return [
            ("grpc.max_receive_message_length", self.max_message_bytes),
            ("grpc.initial_reconnect_backoff_ms", min(100, backoff_ms)),
            ("grpc.min_reconnect_backoff_ms", min(100, backoff_ms)),
            ("grpc.max_reconnect_backoff_ms", backoff_ms),
        ]

    def channel_credentials(self) -> Optional[grpc.ChannelCredentials]:
        """TLS credentials with the files of these options; None for plaintext. InvalidArgument when a file
        cannot be read, is larger than 1 MiB, or only one of client_cert and client_key is given."""
        if not self.uses_tls:
            return None
        if bool(self.client_cert) != bool(self.client_key):
            raise make_error("InvalidArgument", "InvalidArgument: --client-cert and --client-key go together",
                             grpc.StatusCode.INVALID_ARGUMENT)
        root = _read_pem(self.ca_cert, "--ca-cert") if self.ca_cert else None
        cert = _read_pem(self.client_cert, "--client-cert") if self.client_cert else None
        key = _read_pem(self.client_key, "--client-key") if self.client_key else None
        return grpc.ssl_channel_credentials(root_certificates=root, private_key=key, certificate_chain=cert)


def _read_pem(path: str, what: str) -> bytes:
    try:
        if not os.path.isfile(path) or os.path.getsize(path) > MAX_PEM_FILE_BYTES:
            raise OSError("not a regular file of the allowed size")
        with open(path, "rb") as f:
            data = f.read(MAX_PEM_FILE_BYTES + 1)
        if not data:
            raise OSError("empty")
        return data
    except OSError:
        raise make_error("InvalidArgument",
                         f"InvalidArgument: {what} {path}: not a readable file of at most {MAX_PEM_FILE_BYTES} bytes",
                         grpc.StatusCode.INVALID_ARGUMENT) from None
