"""Shared by the dataset converters: resumable, atomic per-clip outputs.

Every output (one ``.npy`` file, one folder of frames) is written under a
temporary name and renamed when complete, so an interrupted run leaves no
half-written output that a later run would take as finished. A later run
skips finished outputs (resume) and redoes them only with ``--overwrite``.
"""
import argparse
import filecmp
import math
import os
import os.path as osp
import shutil
import sys
from functools import partial
from multiprocessing import Pool
from typing import Callable, Dict, Iterable, List, Sequence, Tuple

import numpy as np

# `python tools/dataset_converters/x.py` imports rollingq_mm from a checkout.
sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

VIDEO_SUFFIXES = ('.mp4', '.mkv', '.webm', '.avi', '.flv', '.mov')


def add_run_args(parser: argparse.ArgumentParser) -> None:
    """``--nproc`` and ``--overwrite``, the same in every converter."""
    parser.add_argument(
        '--nproc', type=int, default=1, help='worker processes (default: 1)')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='redo outputs that already exist (by default '
        'they are kept, so an interrupted run resumes)')


def index_files(folder: str, suffixes: Sequence[str]) -> Dict[str, str]:
    """Map file stem -> path for files under ``folder`` (recursive)."""
    if not osp.isdir(folder):
        raise FileNotFoundError(f'folder {folder!r} does not exist')
    found = {}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            stem, ext = osp.splitext(name)
            if ext.lower() in suffixes:
                found.setdefault(stem, osp.join(dirpath, name))
    return found


def save_npy(path: str, array: np.ndarray) -> None:
    """np.save under a temporary name, then rename (atomic)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = f'{path}.tmp'
    with open(tmp, 'wb') as f:
        np.save(f, array)
    os.replace(tmp, path)


def extract_frames(video_path: str, out_dir: str, fps: float = 1.0) -> int:
    """Frames at ``fps`` (t = 0, 1/fps, ...) to ``out_dir/frame_00001.jpg``...

    Each output frame is the decoded frame nearest its time stamp. The
    frames go to ``out_dir.tmp`` first; ``out_dir`` appears only complete.

    Args:
        video_path (str): Any video OpenCV's FFmpeg backend reads.
        out_dir (str): Folder for this clip's frames (replaced if present).
        fps (float): Output frames per second. Defaults to 1.

    Returns:
        int: The number of frames written.
    """
    import cv2
    capture = cv2.VideoCapture(video_path)
    rate = capture.get(cv2.CAP_PROP_FPS) if capture.isOpened() else 0.
    if not rate or not math.isfinite(rate) or rate <= 0:
        raise ValueError(f'OpenCV cannot read video {video_path!r} (or its '
                         'frame rate); check the file, or convert it to mp4 '
                         'with ffmpeg')
    tmp = f'{out_dir}.tmp'
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    index, written = 0, 0
    try:
        while capture.grab():
            while round(written * rate / fps) <= index:
                ok, frame = capture.retrieve()
                if not ok:
                    break
                cv2.imwrite(
                    osp.join(tmp, f'frame_{written + 1:05d}.jpg'), frame)
                written += 1
            index += 1
    finally:
        capture.release()
    if written == 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ValueError(f'no frame could be decoded from {video_path!r}')
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    return written


def decode_audio(path: str, sample_rate: int) -> np.ndarray:
    """The audio track of a video (or audio) file as mono float32.

    Decoded with PyAV (FFmpeg's libraries, bundled in its wheels: no
    ``ffmpeg`` program needed) and converted by libswresample to mono
    float32 at ``sample_rate``, with its default down-mix and resampler —
    the conversion ``ffmpeg -i PATH -ac 1 -ar RATE`` asks for.

    Args:
        path (str): A container with an audio stream (mp4, mkv, flv, ...).
        sample_rate (int): Output sample rate.

    Returns:
        np.ndarray: float32 [N].
    """
    try:
        import av
    except ImportError:
        raise ImportError(
            'decoding the audio of videos needs PyAV: pip install av, or '
            'pip install "rollingq_mm[video]"; or pass --audio-dir with '
            '<id>.wav files') from None
    try:
        with av.open(path) as container:
            if not container.streams.audio:
                raise ValueError(f'{path!r} has no audio track')
            resampler = av.AudioResampler(
                format='flt', layout='mono', rate=sample_rate)
            chunks = []
            for frame in container.decode(container.streams.audio[0]):
                chunks += [f.to_ndarray() for f in resampler.resample(frame)]
            chunks += [f.to_ndarray() for f in resampler.resample(None)]
    except av.FFmpegError as err:
        raise ValueError(f'cannot decode the audio of {path!r} ({err}); '
                         'check the file') from err
    wave = np.concatenate(chunks, axis=1)[0] if chunks else np.zeros(0)
    if wave.size == 0:
        raise ValueError(f'the audio track of {path!r} has no samples')
    return wave.astype(np.float32, copy=False)


def copy_text(src: str, dst: str, overwrite: bool) -> str:
    """Copy a split file; an existing different ``dst`` needs --overwrite."""
    if osp.isfile(dst) and not overwrite:
        if filecmp.cmp(src, dst, shallow=False):
            return f'{dst} is up to date'
        raise FileExistsError(f'{dst} exists and differs from {src}; pass '
                              '--overwrite to replace it')
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    shutil.copyfile(src, dst)
    return f'wrote {dst}'


def _call(work: Callable, item: Tuple[str, str]) -> Tuple[str, str]:
    """Run one job; returns (clip id, error message or '')."""
    try:
        work(*item)
        return item[0], ''
    except Exception as err:  # reported at the end, the others go on
        return item[0], f'{type(err).__name__}: {err}'


def run_jobs(title: str,
             items: Iterable[Tuple[str, str]],
             output: Callable,
             work: Callable,
             overwrite: bool,
             nproc: int = 1) -> List[str]:
    """Run ``work(clip_id, src)`` for the clips whose output is not there.

    Args:
        title (str): Printed before the progress bar.
        items (Iterable[tuple]): ``(clip_id, source_path)`` pairs.
        output (Callable): ``clip_id -> output path``; an existing path
            counts as finished.
        work (Callable): ``(clip_id, source_path) -> None``; must be a
            module-level function (or partial) for ``nproc > 1``.
        overwrite (bool): Redo finished outputs too.
        nproc (int): Worker processes. Defaults to 1.

    Returns:
        list[str]: ``'clip_id: error'`` for each failed clip.
    """
    from rollingq_mm.utils.progress import progress_bar
    items = list(items)
    todo = [it for it in items if overwrite or not osp.exists(output(it[0]))]
    kept = len(items) - len(todo)
    print(f'{title}: {len(todo)} to do, {kept} already done' +
          (' (kept; --overwrite redoes them)' if kept else ''))
    failures = []
    if not todo:
        return failures
    call = partial(_call, work)
    # a bar on a terminal only
    with progress_bar(len(todo)) as bar:
        if nproc > 1:
            with Pool(nproc) as pool:
                results = list(
                    _progress(pool.imap_unordered(call, todo), bar))
        else:
            results = list(_progress(map(call, todo), bar))
    return [f'{clip}: {error}' for clip, error in results if error]


def _progress(results: Iterable, bar) -> Iterable:
    for result in results:
        bar.update()
        yield result


def report(failures: List[str], what: str) -> int:
    """Print the failures; returns the exit status (1 if any)."""
    if not failures:
        print(f'{what}: done')
        return 0
    print(
        f'{what}: {len(failures)} clip(s) failed:', *failures[:20], sep='\n  ')
    if len(failures) > 20:
        print(f'  ... and {len(failures) - 20} more')
    print('Fix or remove these clips and run again: finished outputs are '
          'kept. Datasets can drop clips with missing files with '
          'skip_missing=True.')
    return 1
