"""Backend registries: providers imported on first use, also when sessions start at once."""
from __future__ import annotations

import sys
import threading

from visage.backends.registry import Registry


def test_concurrent_first_use_waits_for_the_providers(tmp_path, monkeypatch):
    """Two threads creating the first backend at once: the second must not see a half-filled registry."""
    package = tmp_path / "slowpkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from visage.backends.registry import Registry\nregistry = Registry('thing', __name__, ('slow',))\n")
    (package / "slow.py").write_text(
        "import time\nfrom slowpkg import registry\ntime.sleep(0.3)\n"
        "@registry.register('slow')\ndef make():\n    return 'made'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "slowpkg", raising=False)
    monkeypatch.delitem(sys.modules, "slowpkg.slow", raising=False)
    import slowpkg

    registry: Registry = slowpkg.registry
    results, errors = [], []

    def create():
        try:
            results.append(registry.create("slow"))
        except Exception as exc:  # noqa: BLE001 - the failure this test is about
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and results == ["made"] * 4
    assert registry.names() == ["slow"]
