"""mmrare: build, audit and score a rare-disease multimodal multi-image benchmark from PMC OA case reports."""

__version__ = "0.1.0"
