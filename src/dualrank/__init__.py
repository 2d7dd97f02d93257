"""dualrank: reproduction of Menon et al. (ICML 2022), 'In defense of dual-encoders for neural ranking'."""

__version__ = "0.1.0"
