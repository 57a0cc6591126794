"""The logistics service of an offsite repair programme.

Routes broken computers to their designated repair centre and back: routing decisions by region, carrier
bookings that never happen twice, PDF labels, and one ordered history per device.
"""

__version__ = "0.1.0"
