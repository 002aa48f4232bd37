"""Building the classifier's heads: fill widths and the authors' init."""
import copy
from typing import Dict, List, Optional

from ..necks.base import XAVIER_INIT
from ..utils import build_module


def embed_dims(name: str, encoder) -> int:
    """An encoder's token width (its ``embed_dims``), or a clear error."""
    dims = getattr(encoder, 'embed_dims', None)
    if not isinstance(dims, int):
        raise TypeError(f'encoder {name!r} ({type(encoder).__name__}) must '
                        'have an int attribute embed_dims (its token width) '
                        'and may declare has_cls_token (default False); wrap '
                        'a module that returns feature maps in '
                        "dict(type='BackboneEncoder', backbone=...)")
    return dims


def describe(cfg) -> str:
    """A short name for an encoder config, for error messages."""
    if not isinstance(cfg, dict):
        return type(cfg).__name__
    name = cfg.get('model_name')
    return f'{cfg.get("type")}({name!r})' if name else str(cfg.get('type'))


def with_head_defaults(cfg: dict, in_channels: int, where: str) -> dict:
    """Fill ``in_channels`` and the authors' init into a head config.

    Raises:
        ValueError: if the config's ``in_channels`` differs from the width
            of the features it will get.
    """
    if not isinstance(cfg, dict):
        return cfg
    cfg = copy.deepcopy(cfg)
    given = cfg.setdefault('in_channels', in_channels)
    if given != in_channels:
        raise ValueError(f'{where}.in_channels is {given} but its input '
                         f'features have width {in_channels}; drop '
                         'in_channels (it is filled in) or fix it')
    cfg.setdefault('init_cfg', XAVIER_INIT)
    return cfg


def build_modality_heads(cfg: Optional[dict], modalities: List[str],
                         dims: Dict[str, int], what: str) -> dict:
    """One head per modality from one shared config or a config each.

    Args:
        cfg (dict, optional): A head config (with ``type``) for every
            modality, or ``{modality: head config}``.
        modalities (list[str]): The model's modalities.
        dims (dict[str, int]): Feature width per modality.
        what (str): The argument's name, for messages.

    Returns:
        dict[str, nn.Module]: The heads.
    """
    if not cfg:
        return {}
    if 'type' not in cfg:  # one config per modality
        unknown = set(cfg) - set(modalities)
        if unknown:
            raise KeyError(f'{what} names unknown modalities '
                           f'{sorted(unknown)}; known: {modalities}')
        configs = cfg
    else:
        configs = {m: cfg for m in modalities}
    return {
        name:
        build_module(
            with_head_defaults(head, dims[name], f'{what}[{name!r}]'))
        for name, head in configs.items()
    }
