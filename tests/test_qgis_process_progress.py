"""qgis_process shows preprocess's progress while it runs, block by block, not all at the end.

qgis_process prints a dot per 2.5 % and flushes stdout each time; the dots come from the
feedback's progressChanged signal, which reaches the printer at once only when setProgress is
called from the main thread (a worker thread's call would be queued until the run ends).
"""

import os
import re
import subprocess
import time

from conftest import QGIS_PROCESS
from tools.sampledata import generate_sample


def test_progress_arrives_while_preprocess_runs(qgis_process_env, tmp_path):
    generate_sample(tmp_path / "sample", size=600, n_dates=6, layouts=["plain"])  # 2 x 2 blocks
    process = subprocess.Popen(
        [str(QGIS_PROCESS), "run", "imperviousness:preprocess", "--",
         f"INPUT={tmp_path / 'sample' / 's2' / '2018'}", f"OUTPUT={tmp_path / 'pp.tif'}"],
        env=qgis_process_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    arrivals, text = [], b""
    while True:
        chunk = os.read(process.stdout.fileno(), 4096)
        if not chunk:
            break
        text += chunk
        arrivals.append((time.monotonic(), text))
    assert process.wait(timeout=300) == 0, text.decode(errors="replace")[-2000:]

    def first_arrival(pattern):
        return next(at for at, received in arrivals if re.search(pattern, received))

    started, done = first_arrival(rb"\n0\.\.\."), first_arrival(rb"\.100 - done")
    # 4 blocks: the progress line grows over the run (buffered output would come in one piece).
    assert done - started > 0.2, text.decode(errors="replace")
