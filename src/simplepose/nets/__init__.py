"""The networks and their weights.

`PoseResNet` (`model`), `PoseHighResolutionNet` (`hrnet`), `build_network` (`build`), the
one door every weights file comes through (`weights.load_checkpoint`: simplepose, official
and mmpose files, torchvision and HRNet ImageNet backbones), what files trained elsewhere
hold (`foreign`), checkpoint writing (`checkpoint`), parameter and FLOP counts (`complexity`).

May import: `core/`, `formats/`, `config`.
"""
