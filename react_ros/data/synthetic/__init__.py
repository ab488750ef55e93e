"""Synthetic conversations: `signals` (building blocks), `people` (the session's speaker script, speakers, the
default listener) and `laws` (each family's listener law, written with the public parts of the other two).
`react_ros.data.families` names the families, `react_ros.data.synth` writes a data set in the MARS layout."""
