"""A stand-in for QgsProcessingFeedback (the three methods the core uses), for cancellation tests."""


class Feedback:
    """Records progress; reports cancelled after `progress` progress updates or after `checks`
    isCanceled() calls (None: never). Feedback(progress=0) is cancelled from the start."""

    def __init__(self, progress=None, checks=None):
        self.progress_limit, self.checks_limit = progress, checks
        self.progress, self.checks = [], 0
        self.messages, self.warnings = [], []

    def setProgress(self, percent):  # noqa: N802 (QgsProcessingFeedback API)
        self.progress.append(percent)

    def isCanceled(self):  # noqa: N802 (QgsProcessingFeedback API)
        self.checks += 1
        by_progress = self.progress_limit is not None and len(self.progress) >= self.progress_limit
        by_checks = self.checks_limit is not None and self.checks > self.checks_limit
        return by_progress or by_checks

    def pushInfo(self, message):  # noqa: N802 (QgsProcessingFeedback API)
        self.messages.append(message)

    def pushWarning(self, message):  # noqa: N802 (QgsProcessingFeedback API)
        self.warnings.append(message)
