import subprocess
import sys

import pytest

from lrscope.cli import main


def test_demo_prints_the_worked_examples(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for text in ("6.4", "-12", "14.4", "converged", "diverged", "slow", "2/L = 1"):
        assert text in out


def test_demo_writes_a_real_png(tmp_path):
    path = tmp_path / "curves.png"
    assert main(["demo", "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("argv, needle", [
    (["demo", "--steps", "0"], "--steps"),
    (["demo", "--steps", "abc"], "--steps"),
    (["nonsense"], "invalid choice"),
])
def test_bad_input_is_one_line_and_status_2(argv, needle):
    proc = subprocess.run([sys.executable, "-m", "lrscope.cli", *argv], capture_output=True, text=True)
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_unwritable_plot_path(capsys):
    assert main(["demo", "--plot", "/nonexistent-dir/x.png"]) == 2
    assert "--plot" in capsys.readouterr().err
