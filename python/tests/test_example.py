"""The notebook-sized example runs as README shows it, in a fresh interpreter (where
nothing imported torch before metarl)."""

import os
import subprocess
import sys

from conftest import SOURCE_DIR


def test_the_example_trains_evaluates_and_prints_alpha(tmp_path):
    script = os.path.join(SOURCE_DIR, "examples", "python", "train_point_nav.py")
    result = subprocess.run([sys.executable, script, str(tmp_path / "nav"), "3"], capture_output=True, text=True,
                            env=dict(os.environ), timeout=600)
    assert result.returncode == 0, result.stderr
    assert "gain over step 0, paired per task" in result.stdout
    assert "alpha of layer0.weight" in result.stdout
    assert (tmp_path / "nav" / "checkpoint.pt").exists()
