"""Getting the source file: the Kaggle download and the seeded synthetic generator."""
