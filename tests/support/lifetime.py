"""The `with` protocol of the test harness's process groups (Browser,
Go2rtcStack): `with X(...) as x:` calls x.start() and, however the block or
start() ends, x.close(). close() must accept a half-started object."""


class StartedInWith:
    """Mixin: __enter__ runs self.start(), __exit__ runs self.close()."""

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()  # `with` calls __exit__ only once __enter__ has returned
            raise
        return self

    def __exit__(self, *exc):
        self.close()
