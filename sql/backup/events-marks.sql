-- The events high-water mark per log topic (partition 0: the embedded log has one), read from the events
-- dump itself: the rows the backup holds, not what the live table holds a moment later.
SELECT log_topic AS topic, toInt64(max(log_offset)) AS mark
FROM file({file:String}, 'Native', {structure:String})
WHERE log_partition = 0
GROUP BY log_topic
