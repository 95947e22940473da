"""PVM services on a running devnet (`shielded devnet service ...`), through a validator's RPC.

A deploy goes to the registrar service, whose accumulate creates the service with `new`
(graypaper B.8) and whose code an author then provides in a block's E_P (eq. 12.35-12.38);
a submission is one work item refined and accumulated in the PVM by every validator.
"""

from __future__ import annotations

import time
from pathlib import Path

from shielded.node.devnet import rpc_call
from shielded.node.genesis import load_genesis
from shielded.node.sample_service import sample_service_blob

SAMPLE = "sample"
"""The blob name of the project's own sample service (`sample_service.py`)."""
RPC_TIMEOUT = 15.0


class ServiceCommandError(Exception):
    """A service command that cannot be done (bad argument, refused, timed out)."""


def _port(directory: Path, via: int) -> int:
    config = load_genesis(directory)
    if not 0 <= via < len(config.validators):
        raise ServiceCommandError(f"no validator {via} in {directory}")
    return config.validators[via].rpc_port


def _call(port: int, method: str, params: dict[str, object]) -> dict[str, object]:
    try:
        result = rpc_call(port, method, params, timeout=RPC_TIMEOUT)
    except RuntimeError as error:  # a JSON-RPC error answer
        raise ServiceCommandError(str(error)) from None
    except OSError as error:
        raise ServiceCommandError(f"validator RPC on port {port} unreachable: {error}") from None
    if not isinstance(result, dict):
        raise ServiceCommandError(f"{method}: unexpected answer {result!r}")
    return result


def read_blob(source: str) -> bytes:
    """The blob named `sample`, or the contents of the file `source`."""
    if source == SAMPLE:
        return sample_service_blob()
    path = Path(source)
    if not path.is_file():
        raise ServiceCommandError(f"{source}: no such file (or use '{SAMPLE}')")
    return path.read_bytes()


def parse_payload(text: str) -> bytes:
    """0x-prefixed hex, else the text's UTF-8 octets."""
    if text.startswith("0x"):
        try:
            return bytes.fromhex(text[2:])
        except ValueError:
            raise ServiceCommandError(f"payload {text!r} is not hex") from None
    return text.encode()


def wait_for_rpc(port: int, timeout: float = 60.0) -> None:
    """Wait until a validator that is starting answers on its RPC port."""
    deadline = time.time() + timeout
    while True:
        try:
            rpc_call(port, "system_status", timeout=RPC_TIMEOUT)
            return
        except OSError as error:
            if time.time() >= deadline:
                raise ServiceCommandError(f"validator RPC on port {port}: {error}") from None
            time.sleep(0.5)


def deploy(directory: Path, blob: bytes, via: int = 0, timeout: float = 90.0) -> int:
    """Deploy `blob` and wait until the service exists with its code provided; its id."""
    port = _port(directory, via)
    wait_for_rpc(port)
    code_hash = _call(port, "service_deploy", {"blob": blob.hex()})["code_hash"]
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = _call(port, "service_getDeployed", {"code_hash": code_hash})
        service = found.get("service")
        if isinstance(service, int) and found.get("code_ready"):
            return service
        time.sleep(0.5)
    raise ServiceCommandError(f"the service of code {code_hash} was not ready in {timeout}s")


def submit(directory: Path, service: int, payload: bytes, via: int = 0) -> None:
    """Send service `service` a work package with `payload`."""
    _call(_port(directory, via), "service_submit", {"service": service, "payload": payload.hex()})


def item(directory: Path, service: int, key: bytes, via: int = 0) -> bytes | None:
    """Storage item `key` of service `service` at the validator's head."""
    value = _call(_port(directory, via), "service_getItem", {"service": service, "key": key.hex()})
    raw = value.get("value")
    return None if raw is None else bytes.fromhex(str(raw)[2:])


def wait_for_item(
    directory: Path, service: int, key: bytes, expected: bytes, via: int = 0, timeout: float = 60.0
) -> None:
    """Wait until the service's item `key` holds `expected` (its accumulate ran)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if item(directory, service, key, via) == expected:
            return
        time.sleep(0.5)
    raise ServiceCommandError(f"service {service}'s item {key!r} did not become {expected.hex()}")
