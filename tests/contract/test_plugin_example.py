"""The README's example plugin store ("Writing a store") passes ``secretbridge.testing``'s
suite as written: the store module, its entry point and its test module are the README's
code blocks, and the store is found through a real entry point of an installed
distribution, as a user's would be."""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from plugins import install_distribution

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

README = Path(__file__).resolve().parents[2] / "README.md"
STORE_MODULE = "secretbridge_jsonfile.py"
TEST_MODULE = "tests/test_jsonfile.py"


def readme_files() -> dict[str, tuple[int, str]]:
    """The README's code blocks that begin with a file-name comment (``# name.py``): file
    name -> (the README line the block starts on, its text)."""
    text = README.read_text(encoding="utf-8")
    files = {}
    for block in re.finditer(r"^```\w+\n(# (\S+\.\w+)\n.*?)^```", text, re.S | re.M):
        files[block[2]] = (text.count("\n", 0, block.start(1)), block[1])
    return files


FILES = readme_files()


def readme_module(file_name: str) -> types.ModuleType:
    """Run a README block as a module; tracebacks point at README.md's own lines."""
    first_line, source = FILES[file_name]
    module = types.ModuleType(f"readme_{Path(file_name).stem}")
    exec(compile("\n" * first_line + source, README, "exec"), module.__dict__)  # noqa: S102
    return module


#: The README's test class, collected here (pytest collects every Test* class in a module).
TestJsonFileStore = readme_module(TEST_MODULE).TestJsonFileStore


@pytest.fixture(scope="module", autouse=True)
def jsonfile_plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The README's store installed as a distribution with its README entry point."""
    site = tmp_path_factory.mktemp("site")
    project = tomllib.loads(FILES["pyproject.toml"][1])["project"]
    install_distribution(
        site,
        "secretbridge-jsonfile",
        {STORE_MODULE: FILES[STORE_MODULE][1]},
        project["entry-points"],
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(site))
        yield site
    sys.modules.pop(Path(STORE_MODULE).stem, None)


def test_the_store_comes_from_the_readme_through_its_entry_point() -> None:
    from secretbridge.stores.base import load_store_class

    cls = load_store_class("jsonfile")
    assert cls.__module__ == "secretbridge_jsonfile"
    assert cls.__name__ == "JsonFileStore"
    assert (
        Path(sys.modules[cls.__module__].__file__ or "").read_text(encoding="utf-8")
        == (FILES[STORE_MODULE][1])
    )


BROKEN_VARIANTS = """
import logging

import pytest
from secretbridge_jsonfile import JsonFileStore


class TestFailingOpen(TestJsonFileStore):
    @pytest.fixture(autouse=True)
    def healthy_when_it_cannot_read(self, monkeypatch):
        monkeypatch.setattr(JsonFileStore, "health", lambda self: None)


class TestLoggingValues(TestJsonFileStore):
    @pytest.fixture(autouse=True)
    def logs_what_it_reads(self, monkeypatch):
        get = JsonFileStore.get

        def logging_get(self, path, version=None):
            got = get(self, path, version)
            logging.getLogger("jsonfile").debug("read %r", got.value)
            return got

        monkeypatch.setattr(JsonFileStore, "get", logging_get)
"""


def test_the_suite_fails_a_store_that_fails_open_or_logs_a_value(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_broken=FILES[TEST_MODULE][1] + BROKEN_VARIANTS)
    chosen = "test_health_fails_when_the_store_is_down or test_get_latest"
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-k", chosen)
    result.stdout.fnmatch_lines_random(
        [
            "FAILED *TestFailingOpen::test_health_fails_when_the_store_is_down*",
            "E * DID NOT RAISE *StoreUnavailable*",
            "ERROR *TestLoggingValues::test_get_latest*",
            "E * a secret value reached the logs (jsonfile)",
        ]
    )
    # a teardown error follows a passed call: TestLoggingValues counts twice
    result.assert_outcomes(passed=5, failed=1, errors=1)
