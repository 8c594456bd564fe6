"""Getting raw Hub data: the released archive, a crawl of the Hub API, arXiv categories."""
