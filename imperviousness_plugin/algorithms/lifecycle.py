"""What a headless run (qgis_process) does at its edges: signals and files beside the inputs.

qgis_process (QGIS 3.22) runs an algorithm in its main thread, inside the embedded Python.
Measured: SIGTERM has no handler, it kills the process at once (no C++ destructor runs, so the
processing temp folder, a QTemporaryDir `processing_XXXXXX` in TMPDIR, stays behind, as does the
hidden `.partial` file of the output being written). For SIGINT qgis_process installs its own
handler when it starts the algorithm (after the plugins are loaded): it prints "Caught signal:
Interrupt" and cancels the feedback, which an algorithm sees only between two blocks; a run whose
last block is under way completes (exit status 0) despite the interrupt.

`install()`, called when the plugin's processing starts (initProcessing) and again when each
algorithm starts (prepareAlgorithm: after qgis_process's own SIGINT handler), in qgis_process only:

- installs SIGTERM and SIGINT handlers that remove the files being written
  (core.io.atomic.remove_pending_files), the outputs the current algorithm has already completed
  (atomic.remove_written_files: e.g. the products published before the signal) and this
  process's processing temp folder (the model's intermediate layers), then end the
  process by the same signal (exit status 128 + signal for a shell: 143, 130). QGIS >= 3.26
  also keeps the project's style database in a temporary folder of its own, which only a normal
  exit removes: that folder goes too. A Python handler
  runs between two Python bytecodes of the main thread, so a signal that arrives during a long
  GDAL or numpy call takes effect when that call returns (still sooner than the next block).
- disables GDAL's PAM side files (GDAL_PAM_ENABLED=NO): loading a raster layer makes QGIS compute
  band statistics, which GDAL saves as `<input>.aux.xml` beside the user's inputs on closing.
  Our outputs keep everything in the GeoTIFF itself (nodata, descriptions, metadata, colours).

QGIS desktop is left alone: there the main thread runs the Qt event loop (a Python handler would
only run when some Python code happens to run, delaying SIGTERM indefinitely) and algorithms run
in worker threads, where a signal handler cannot be installed.
"""

import os
import shutil
import signal
import threading

from osgeo import gdal
from qgis.core import QgsApplication, QgsProcessingUtils, QgsProject
from qgis.PyQt.QtCore import QCoreApplication, QDir

from ..core.io import atomic

HEADLESS_PLATFORM = "qgis_process"
SIGNALS = (signal.SIGTERM, signal.SIGINT)


def install():
    """Signal cleanup and no PAM side files, in qgis_process's main thread; else nothing."""
    if QgsApplication.platform() != HEADLESS_PLATFORM \
            or threading.current_thread() is not threading.main_thread():
        return False
    gdal.SetConfigOption("GDAL_PAM_ENABLED", "NO")
    atomic.track_written()
    for signum in SIGNALS:
        signal.signal(signum, _clean_up_and_die)
    return True


def remove_run_files():
    """Remove the files being written, those the current algorithm has written, this process's
    processing temp folder and its project style database's temporary folder."""
    atomic.remove_pending_files()
    atomic.remove_written_files()
    folder = QgsProcessingUtils.tempFolder()
    if os.path.basename(folder).startswith("processing_"):  # never anything else by mistake
        shutil.rmtree(folder, ignore_errors=True)
    folder = _style_database_folder()
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def _style_database_folder():
    """The temporary folder of this process's project style database, or None.

    QGIS >= 3.26 keeps the project's styles in `<TMPDIR>/QGIS3-XXXXXX/XXXXXX_styles.db` (a
    QTemporaryDir of QgsProjectStyleSettings), which its destructor removes on a normal exit
    only: a process that ends by a signal leaves it. QGIS 3.22 has no such database.
    """
    settings = getattr(QgsProject.instance(), "styleSettings", lambda: None)()
    style = getattr(settings, "projectStyle", lambda: None)()
    path = style.fileName() if style is not None else ""
    folder = os.path.dirname(path)
    prefix = QCoreApplication.applicationName() + "-"
    if (path.endswith("_styles.db") and os.path.basename(folder).startswith(prefix)
            and os.path.dirname(folder) == QDir.tempPath()):   # never anything else by mistake
        return folder
    return None


def _clean_up_and_die(signum, frame):
    remove_run_files()
    # The one message of a cancelled run (qgis_process's own handler, replaced here, would print
    # "Caught signal", then the algorithm's cancellation error, then "Algorithm failed").
    os.write(2, f"Stopped by {signal.Signals(signum).name}: this run's files were removed.\n".encode())
    # End by the same signal with its default action, so the parent sees the usual status.
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
