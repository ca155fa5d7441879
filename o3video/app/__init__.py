"""`o3video app`: a local web app (Gradio) to browse evidence. Three views, one module each: Ask
(`ask_view`), Results (`scored_results`, `results_view`) and Data (`data_view`); the page (`web`) lays
them out as tabs and shows every failure as one line in the page."""
