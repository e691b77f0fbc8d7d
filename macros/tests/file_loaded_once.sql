{#-
    Generic data test for the raw line models: every raw file was read by one
    build only (files are only ever added, so reading one again would stage
    its lines twice). Within one read, line numbers are unique by
    construction. A group-by on the file name, not a 10M-row uniqueness check.
-#}
{% test file_loaded_once(model) %}

select
    file_name,
    count(distinct loaded_at) as loads
from {{ model }}
group by file_name
having count(distinct loaded_at) > 1

{% endtest %}
