"""The department cockpit: rollups kept from the exam timeline, the fifteen figures, drill-downs and exports.

Owns the rollup tables; everything else here only reads (docs/metrics.md defines each figure).
"""
