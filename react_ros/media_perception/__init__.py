"""Perception run on recorded media: `react-ros perceive` (videos, wavs, MARS trees -> attribute trees, clips.py),
perceived attributes against a data set's labels (compare.py), and the speaker front end picked by name
(frontends.py). The building blocks are `react_ros.perception` (below data/ and model/); this package sits above
them because it reads and writes data sets and finds the shipped model's estimator."""
