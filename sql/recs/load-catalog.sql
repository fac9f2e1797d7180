SELECT product_id, category, popularity FROM recs_catalog WHERE run_id = {run_id:String}
