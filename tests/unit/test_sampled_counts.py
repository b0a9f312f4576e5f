"""``count_by(..., tracked=True)``: a read model's counts are read again only when its tracked
position moved, so an idle server's metrics sampler does not scan the table."""

from interfaces.metrics import count_by


class Conn:
    """Answers the sampler's three queries; counts the scans of the table."""

    def __init__(self):
        self.position = 7
        self.scans = 0
        self.rows = [("not_started", 2)]

    def execute(self, query, params=None):
        if "to_regclass" in query:
            return Answer([(True,)])
        if "ledgerflow_tracking" in query:
            return Answer([(self.position,)])
        self.scans += 1
        return Answer(self.rows)


class Answer:
    def __init__(self, rows):
        self.rows = rows

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def fetchall(self):
        return self.rows


def test_tracked_counts_are_read_again_only_when_the_position_moves():
    conn = Conn()
    read = count_by("tasks", "status", tracked=True)
    first = list(read(conn))
    conn.rows = [("not_started", 3)]  # not seen: nothing was projected since
    assert list(read(conn)) == first == [(("not_started",), 2.0)]
    conn.position = 8
    assert list(read(conn)) == [(("not_started",), 3.0)]
    assert conn.scans == 2


def test_untracked_counts_are_read_every_time():
    conn = Conn()
    read = count_by("webhook_deliveries", "status")
    read(conn)
    read(conn)
    assert conn.scans == 2
