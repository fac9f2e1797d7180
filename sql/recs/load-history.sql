SELECT actor_id, purchased, recent, toString(country) AS country FROM recs_history WHERE run_id = {run_id:String}
