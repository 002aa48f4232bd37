"""Purity of k-means clusters (Re-learning's diagnosis), in torch."""
import torch


def minmax_scale(features: torch.Tensor) -> torch.Tensor:
    """Each column to [-1, 1] (sklearn's ``MinMaxScaler((-1, 1))``; a
    constant column becomes -1, as there)."""
    low, high = features.min(0).values, features.max(0).values
    span = torch.where(high > low, high - low, torch.ones_like(high))
    return 2 * (features - low) / span - 1


def kmeans(features: torch.Tensor,
           clusters: int,
           n_init: int = 10,
           max_iter: int = 300,
           tol: float = 1e-4,
           seed: int = 0) -> torch.Tensor:
    """Lloyd's k-means with k-means++ starts; the labels of the best of
    ``n_init`` runs (least inertia).

    As sklearn's ``KMeans`` (``tol`` relative to the features' mean
    variance, ``n_init`` starts), with its own seeded generator, so the
    clusters are a function of the features and ``seed`` (the same on
    every DDP rank).

    Args:
        features (Tensor): [N, D].
        clusters (int): k.

    Returns:
        Tensor: Cluster labels [N] (int64).
    """
    x = features.double()
    generator = torch.Generator().manual_seed(seed)
    threshold = tol * x.var(0, unbiased=False).mean()
    best, best_inertia = None, None
    for _ in range(n_init):
        centers = _kmeans_plus_plus(x, clusters, generator)
        for _ in range(max_iter):
            labels = torch.cdist(x, centers).argmin(1)
            sums = torch.zeros_like(centers).index_add_(0, labels, x)
            counts = torch.bincount(labels, minlength=clusters)
            moved = torch.where(counts[:, None] > 0,
                                sums / counts.clamp_min(1)[:, None], centers)
            shift = ((moved - centers)**2).sum()
            centers = moved
            if shift <= threshold:
                break
        distances = torch.cdist(x, centers)
        labels = distances.argmin(1)
        inertia = (distances.min(1).values**2).sum()
        if best_inertia is None or inertia < best_inertia:
            best, best_inertia = labels, inertia
    return best


def _kmeans_plus_plus(x: torch.Tensor, clusters: int,
                      generator: torch.Generator) -> torch.Tensor:
    """k-means++ seeding: each next centre drawn ∝ its squared distance."""
    first = torch.randint(len(x), (1, ), generator=generator)
    centers = [x[first[0]]]
    nearest = ((x - centers[0])**2).sum(1)
    for _ in range(1, clusters):
        if nearest.sum() <= 0:  # fewer distinct points than clusters
            index = torch.randint(len(x), (1, ), generator=generator)[0]
        else:
            index = torch.multinomial(nearest, 1, generator=generator)[0]
        centers.append(x[index])
        nearest = torch.minimum(nearest, ((x - x[index])**2).sum(1))
    return torch.stack(centers)


def purity(labels: torch.Tensor, clusters: torch.Tensor) -> float:
    """(1/N) Σ_clusters max_c |cluster ∩ class c| (the authors'
    ``purity_score``)."""
    labels, clusters = labels.long(), clusters.long()
    table = torch.zeros(
        int(clusters.max()) + 1, int(labels.max()) + 1, dtype=torch.long)
    table.index_put_((clusters, labels),
                     torch.ones_like(labels),
                     accumulate=True)
    return float(table.max(1).values.sum()) / len(labels)
