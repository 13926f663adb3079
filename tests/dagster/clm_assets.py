"""The code location of the compute-log tests (``dagster asset materialize -m clm_assets``):
an asset that writes a resolved value to the file descriptors every way a step can, and
one that leaves a process behind holding the step's stdout and stderr."""

from __future__ import annotations

import os
import subprocess
import sys

from dagster import Definitions, asset

from secretbridge.dagster import SecretsResource

REF = "secret:clm/canary"


@asset
def fd_writes(secrets: SecretsResource) -> None:
    value = secrets.get(REF).reveal()
    raw = value.encode()
    os.write(1, b"fd1 before " + raw + b" after fd1\n")
    os.write(2, b"fd2 before " + raw + b" after fd2\n")
    # Split across two writes with no line break between them: held until the line ends.
    os.write(1, b"split " + raw[:6])
    os.write(1, raw[6:] + b" rest of split\n")
    subprocess.run(["echo", f"echo says {value} to stdout"], check=True)
    subprocess.run(["sh", "-c", f"echo 'sh says {value} to stderr' >&2"], check=True)
    print(f"print says {value} on stdout")
    print(f"print says {value} on stderr", file=sys.stderr)
    # The step's last words, with no line break at all: written when the capture ends.
    os.write(1, b"unterminated " + raw)


@asset
def straggler(secrets: SecretsResource) -> None:
    value = secrets.get(REF).reveal()
    # Holds the step's stdout and stderr long after the step: prints the value once it
    # is over, then sleeps (the test's process-group kill ends it).
    subprocess.Popen(
        ["sh", "-c", f"sleep 1; echo 'late {value}'; echo 'late {value}' >&2; exec sleep 600"],
        stdin=subprocess.DEVNULL,
    )
    os.write(1, b"straggler started\n")


# The config file comes from $SECRETBRIDGE_CONFIG, set by the test.
defs = Definitions(assets=[fd_writes, straggler], resources={"secrets": SecretsResource()})
