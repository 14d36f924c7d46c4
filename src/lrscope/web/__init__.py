"""The interactive explorer: ``lrscope serve`` starts it (FastAPI + uvicorn; the page draws with Plotly.js)."""
