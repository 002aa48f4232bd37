"""Base of audio-visual clip datasets: an audio file and frames per clip."""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

from mmengine.dataset import BaseDataset
from mmengine.logging import MMLogger

from .seeded_samples import SeededSamplesMixin
from .transforms.frames import scan_frames

AV_MODALITIES = ('audio', 'visual')


class AudioVisualClipDataset(SeededSamplesMixin, BaseDataset):
    """Base of datasets whose clips have an audio file and a frame folder.

    Subclasses implement :meth:`read_annotations` (the split file ->
    ``[(clip_id, label)]``) and set ``converter``. Each data info holds paths
    only: ``clip_id``, ``gt_label``, ``audio_path`` (``audio`` modality) and
    ``frame_paths`` (``visual``, in natural name order, see
    ``transforms.frames.scan_frames``); the pipeline loads them. Files are
    checked when the dataset is built, so that a missing file is reported at
    once, with the converter to run, and not hours into training.

    Args:
        ann_file (str): The split file, relative to ``data_root``.
        modalities (Sequence[str]): Subset of ``('audio', 'visual')``; only
            their files are needed. Defaults to both.
        audio_prefix (str): Folder of audio files ``<clip_id><audio_suffix>``.
        audio_suffix (str): Audio file ending.
        frame_prefix (str): Folder of frame folders ``<clip_id>/``.
        frame_suffix (str): Frame file ending. Defaults to '.jpg'.
        min_frames (int): Fewer frames count as missing. Defaults to 1.
        skip_missing (bool): Drop clips with missing files (logged) instead
            of raising. Defaults to False.
        drop_short_clips (int): With the ``visual`` modality, drop (and log
            how many) the clips whose frame folder holds at most this many
            entries, counting files of any kind as the authors'
            Kinetics-Sounds loader does (it keeps a clip only if
            ``len(os.listdir(frame_dir)) > 3``). A missing folder is still
            a missing file. Defaults to 0 (keep every clip).
        **kwargs: ``data_root``, ``pipeline``, ``test_mode``, ``metainfo``,
            ... as for mmengine's BaseDataset.
    """

    converter = 'the converter in tools/dataset_converters/'

    def __init__(self,
                 ann_file: str,
                 modalities: Sequence[str] = AV_MODALITIES,
                 audio_prefix: str = '',
                 audio_suffix: str = '.wav',
                 frame_prefix: str = '',
                 frame_suffix: str = '.jpg',
                 min_frames: int = 1,
                 skip_missing: bool = False,
                 drop_short_clips: int = 0,
                 **kwargs):
        unknown = set(modalities) - set(AV_MODALITIES)
        if isinstance(modalities, str) or not modalities or unknown:
            raise ValueError(f'{type(self).__name__}: modalities must be a '
                             f'non-empty subset of {list(AV_MODALITIES)}, got '
                             f'{modalities!r}')
        self.modalities = list(modalities)
        self.audio_prefix = audio_prefix
        self.audio_suffix = audio_suffix
        self.frame_prefix = frame_prefix
        self.frame_suffix = frame_suffix
        self.min_frames = min_frames
        self.skip_missing = skip_missing
        self.drop_short_clips = drop_short_clips
        super().__init__(ann_file=ann_file, **kwargs)

    def read_annotations(self) -> List[Tuple[str, int]]:
        """The split file as ``[(clip_id, label)]``; see subclasses."""
        raise NotImplementedError

    def _under_root(self, prefix: str) -> str:
        if self.data_root and not osp.isabs(prefix):
            return osp.join(self.data_root, prefix)
        return prefix

    def _clip_info(self, clip_id: str,
                   label: int) -> Tuple[Optional[dict], Optional[str]]:
        """The data info of one clip, or None and what is missing.

        ``(None, None)`` is a clip dropped by ``drop_short_clips``.
        """
        info = dict(clip_id=clip_id, gt_label=label)
        frames = None
        if 'visual' in self.modalities:
            frame_dir = osp.join(self._under_root(self.frame_prefix), clip_id)
            frames, entries = scan_frames(frame_dir, self.frame_suffix)
            if (self.drop_short_clips > 0 and osp.isdir(frame_dir)
                    and entries <= self.drop_short_clips):
                return None, None
        if 'audio' in self.modalities:
            path = osp.join(
                self._under_root(self.audio_prefix),
                clip_id + self.audio_suffix)
            if not osp.isfile(path):
                kind = ('spectrogram'
                        if self.audio_suffix == '.npy' else 'audio')
                return None, f'{clip_id!r}: no {kind} file {path}'
            info['audio_path'] = path
        if frames is not None:
            if len(frames) < self.min_frames:
                return None, (f'{clip_id!r}: {len(frames)} {self.frame_suffix}'
                              f' frame(s) in {frame_dir} (need at least '
                              f'{self.min_frames})')
            info['frame_paths'] = frames
        return info, None

    def _report_missing(self, problems: List[str], total: int) -> None:
        head = '\n  '.join(problems[:5])
        more = f'\n  ... and {len(problems) - 5} more' if len(
            problems) > 5 else ''
        name = type(self).__name__
        if not self.skip_missing:
            raise FileNotFoundError(
                f'{name} ({self.ann_file}): {len(problems)} of {total} clips '
                f'have missing files:\n  {head}{more}\nRun {self.converter} '
                'first (see docs/datasets.md) and check data_root and the '
                'prefixes, or set skip_missing=True to drop these clips')
        MMLogger.get_current_instance().warning(
            f'{name} ({self.ann_file}): skipped {len(problems)} of {total} '
            f'clips with missing files (skip_missing=True), e.g.\n  {head}'
            f'{more}')

    def load_data_list(self) -> List[dict]:
        """Read the split file and check every clip's files."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'{type(self).__name__}: split file {self.ann_file!r} does '
                f'not exist; check data_root and ann_file, or run '
                f'{self.converter} (see docs/datasets.md)')
        annotations = self.read_annotations()
        data_list, problems, short = [], [], 0
        for clip_id, label in annotations:
            info, problem = self._clip_info(clip_id, label)
            if problem:
                problems.append(problem)
            elif info is None:
                short += 1
            else:
                data_list.append(info)
        if short:
            MMLogger.get_current_instance().info(
                f'{type(self).__name__} ({self.ann_file}): dropped {short} of '
                f'{len(annotations)} clips whose frame folder has at most '
                f'{self.drop_short_clips} entries (drop_short_clips)')
        if problems:
            self._report_missing(problems, len(annotations))
        return data_list
