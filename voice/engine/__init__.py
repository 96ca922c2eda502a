"""Pure logic of the voice app: plain data in, results out, no ORM (tested without a database).

- hours: a location's opening intervals on a date, in its own time zone, and why a booking is refused
- availability: free appointment slots from hours, providers and their existing appointments
- diff: a readable path-by-path difference between two agent configurations
- stats: percentiles (nearest rank), as the analytics queries compute them
- chart: the geometry of the admin's server-rendered SVG bar charts
"""
