"""Progress reporting and cancellation for the numeric core.

The core never imports QGIS. Algorithms pass their QgsProcessingFeedback, which already has the
three methods used here (setProgress, isCanceled, pushInfo), so no adapter class is needed; scripts
and tests pass nothing and get the silent default.
"""

from .errors import Cancelled


class SilentFeedback:
    """Feedback for runs outside QGIS: never cancelled, reports nothing."""

    def setProgress(self, percent):
        pass

    def isCanceled(self):
        return False

    def pushInfo(self, message):
        pass


class StepProgress:
    """Maps the steps of one job onto a 0..100 % range of a feedback object.

    Raises Cancelled when the user cancelled, so callers check between blocks by calling step().
    """

    def __init__(self, feedback, total_steps, start=0.0, end=100.0):
        self.feedback = feedback or SilentFeedback()
        self.total = max(int(total_steps), 1)
        self.start = start
        self.span = end - start
        self.done = 0

    def check_cancelled(self):
        if self.feedback.isCanceled():
            raise Cancelled("Cancelled by the user")

    def step(self, count=1):
        self.check_cancelled()
        self.done += count
        self.feedback.setProgress(self.start + self.span * min(self.done / self.total, 1.0))

    def info(self, message):
        self.feedback.pushInfo(message)

    def warn(self, message):
        """A warning: QGIS feedback shows it highlighted (pushWarning); others get it as info."""
        push = getattr(self.feedback, "pushWarning", None)
        if push is not None:
            push(message)
        else:
            self.feedback.pushInfo("Warning: " + message)
