"""A live broadcast over RTMP: a host that speaks a script and answers questions for hours.

One clock rules it (timeline.py): audio samples are counted, and video frame k belongs to sample
k x rate / fps, so audio and video cannot drift apart however long the stream runs. The encoder and the
network live on a thread of their own (rtmp.py) that reconnects with backoff when the server goes away;
lines to say come from a script, an HTTP control endpoint or standard input (lines.py, control.py), and
host.py paces it all to the wall clock.
"""
