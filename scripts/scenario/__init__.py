"""The end-to-end scenario: the ten systems run together on one synthetic day.

Each step is a module named after it (:mod:`generate`, :mod:`detect`,
:mod:`attest`, :mod:`enforce`, :mod:`chaos`, :mod:`report`); :mod:`run` is
the command line.  Everything runs on embedded defaults, offline, with no
network beyond loopback.
"""
