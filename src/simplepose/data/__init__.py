"""Training and validation data: dataset files -> person records -> training samples.

Readers of COCO-format, MPII and PoseTrack annotations give `PersonRecord`s (`records`,
one table of readers in `build.READERS`); `TopDownDataset` turns a record into a sample
(augmentation, the shared crop, `core.codec` targets); `checks` says up front what a run's
data lacks.

May import: `core/`, `formats/`, `config`.
"""
