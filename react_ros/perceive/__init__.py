"""`react-ros perceive` and the front-end selector: the perception building blocks put to work on videos, wavs
and MARS trees (above data/ and model/, which they read and write)."""
