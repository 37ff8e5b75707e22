"""A Kubernetes API emulator for classops's tests: real HTTP, real client, apiserver semantics.

Start one with `Emulator().start()` (the `kube` pytest fixture does), or standalone with
`python -m tests.kubeemu --port PORT --kubeconfig-out FILE`.
"""

from .emulator import Emulator
from .remote import RemoteControl

__all__ = ["Emulator", "RemoteControl"]
