"""Where OA packages come from: a local directory, the PMC Cloud Service bucket, or an Entrez search."""
