"""classops common code: runtime, ports, timetable. Never imports `functions`."""
