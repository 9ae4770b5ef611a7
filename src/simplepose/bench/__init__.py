"""`simplepose bench`: every runtime measured in one run, on the same inputs, as ratios to eager fp32.

Sections, in order: the CPU as detected; the network alone (images/s at batch 1 and 16, R18 and
R50 at 256x192 and the demo model); the predictor end to end on generated images (people/s,
flip test on and off, each stage's share); training steps per set-up (samples/s); data
loading per worker count; accuracy of each fast runtime against eager fp32 (keypoint
displacement in pixels, COCO AP change on the synthetic val set). Printed as Markdown and
written to OUT/bench.txt and OUT/bench.json. `quick` shrinks everything to a smoke test.
"""
