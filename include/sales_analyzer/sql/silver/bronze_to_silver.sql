-- Bronze to silver on DuckDB, rendered from the silver contract by
-- include/sales_analyzer/silver.py (columns, header positions and checks).
--
-- One pass reads every physical line of the bronze file (DuckDB's CSV reader in
-- one-column mode: no quote, no delimiter, so each line is one row and a blank
-- line is a NULL row, never skipped), parses and checks it, and writes one
-- staging Parquet row per line, in file order: a plain scan-project-COPY, whose
-- insertion order DuckDB preserves, so row k of staging is physical line k + 1
-- and its file_row_number numbers the lines exactly, with no serial
-- row_number() window. Staging keeps the raw text only of lines that are
-- quarantined or carry a repair or a warning. Silver (typed, de-duplicated on
-- row_id, partitioned) and quarantine (line number, raw line, reason) are then
-- split from it, so each line ends in exactly one place and the counts can be
-- reconciled. (docs/benchmarks.md, "Silver reader comparison", says why the
-- reader's own CSV parsing with store_rejects cannot number the lines.)

{%- macro field(c) -%}
    fields[{{ c.position }}]
{%- endmacro %}

{%- macro unquoted(c) -%}
    case
        when has_quotes and starts_with({{ field(c) }}, '"')
            then replace({{ field(c) }}[2:-2], '""', '"')
        else {{ field(c) }}
    end
{%- endmacro %}

{%- macro normalised(c) -%}
    {#- A plain line (below) has no field with whitespace to trim or collapse, so its
        values only turn empty into NULL; every other line pays for the full rule. -#}
    case
        when plain then nullif(u_{{ c.name }}, '')
        {#- A simple line (ASCII, no whitespace run or control whitespace) has no tab, no
            no-break space and no Unicode space but ' ' (ASCII's one space separator), so
            the full rule changes a value of it only when the value starts or ends with a
            space: most values of a non-plain line skip the trims. -#}
        when simple and not starts_with(u_{{ c.name }}, ' ') and not ends_with(u_{{ c.name }}, ' ')
            then nullif(u_{{ c.name }}, '')
    {%- if c.type == 'string' %}
        {#- collapse runs of whitespace (RE2 \s = [\t\n\f\r ], and no-break space);
            trim() strips the Unicode space separators #}
        else nullif(trim(case
            when needs_ws then regexp_replace(u_{{ c.name }}, '[\s\x{00A0}]+', ' ', 'g')
            else u_{{ c.name }}
        end), '')
    {%- else %}
        else nullif(trim(u_{{ c.name }}, ' ' || chr(9) || chr(160)), '')
    {%- endif %}
    end
{%- endmacro %}

{%- macro repaired(c) -%}
    {%- if c.repairs -%}
    case
    {%- for r in c.repairs %}
        when regexp_full_match(n_{{ c.name }}, {{ r.when | sql_string }})
        {%- if r.remove %}
            then regexp_replace(n_{{ c.name }}, {{ r.remove | sql_string }}, '', 'g')
        {%- else %}
            then lpad(n_{{ c.name }}, {{ r.width }}, {{ r.fill | sql_string }})
        {%- endif %}
    {%- endfor %}
        else n_{{ c.name }}
    end
    {%- else -%}
    n_{{ c.name }}
    {%- endif -%}
{%- endmacro %}

{#- A number column's value, typed when it has the column's shape -#}
{%- macro number(c, value) -%}
    case
        when regexp_matches({{ value }}, '{{ c.shape }}')
            then try_cast({{ value }} as {{ c.sql_type }})
    end
{%- endmacro %}

{%- macro typed(c) -%}
    {%- if c.type == 'date' -%}
    case
        when regexp_full_match(v_{{ c.name }}, '{{ c.date_shape }}')
            then try_strptime(v_{{ c.name }}, '{{ c.strptime_format }}')::date
    end
    {%- elif c.type in ('bigint', 'decimal') -%}
    {{ number(c, 'v_' ~ c.name) }}
    {%- else -%}
    v_{{ c.name }}
    {%- endif -%}
{%- endmacro %}

{%- macro failed(ch) -%}
    {%- if ch.kind == 'missing' -%}
    v_{{ ch.column }} is null
    {%- elif ch.kind == 'shape' -%}
    {#- t_ is null unless the value matched the shape and cast: one regex, in typed() -#}
    v_{{ ch.column }} is not null and t_{{ ch.column }} is null
    {%- elif ch.kind == 'date' -%}
    v_{{ ch.column }} is not null and t_{{ ch.column }} is null
    {%- elif ch.kind == 'allowed' -%}
    {#- list_position, not IN or list_contains: DuckDB plans those as a join when the list
        is long, and a join may reorder the lines (test_silver checks the plan) -#}
    v_{{ ch.column }} is not null
    and list_position([{{ ch.arg | map('sql_string') | join(', ') }}], v_{{ ch.column }}) is null
    {%- elif ch.kind == 'pattern' -%}
    not regexp_matches(v_{{ ch.column }}, '{{ ch.arg }}')
    {%- elif ch.kind == 'min' -%}
    t_{{ ch.column }} < {{ ch.arg }}
    {%- elif ch.kind == 'max' -%}
    t_{{ ch.column }} > {{ ch.arg }}
    {%- elif ch.kind == 'earliest' -%}
    t_{{ ch.column }} < date '{{ ch.arg }}'
    {%- elif ch.kind == 'not_before' -%}
    t_{{ ch.column }} < t_{{ ch.arg }}
    {%- elif ch.kind == 'max_days_after' -%}
    t_{{ ch.column }} > t_{{ ch.extra }} + {{ ch.arg }}
    {%- elif ch.kind == 'not_after' -%}
    t_{{ ch.column }} > date '{{ ingest_date }}'
    {%- elif ch.kind == 'max_length' -%}
    length(v_{{ ch.column }}) > {{ ch.arg }}
    {%- endif -%}
{%- endmacro %}

{%- macro finding(source, rule, action, before, after, expected) -%}
    {
        'column_name': {{ source | sql_string }},
        'rule': {{ rule | sql_string }},
        'action': '{{ action }}',
        'value_before': {{ before }},
        'value_after': {{ after }}::varchar,
        'expected': {{ expected | sql_string }}
    }
{%- endmacro %}

{#- The parse of one line, as views named <p>_*, over a relation with a raw_line column
    (other columns pass through). Used twice: over every line of the bronze file, and
    again over the few kept lines that carry findings, to list them. -#}
{%- macro parse_views(p, source) %}
create or replace temp view {{ p }}_lines as
select
    *,
    -- nothing but spaces and commas (a spreadsheet's empty row) is a blank line
    case
        when raw_line is null then 'blank'
        -- trim() strips Unicode spaces (Zs), as the Glue job's blank test does; only lines
        -- starting with a comma or a space character pay for it
        when (
            starts_with(raw_line, ',')
            -- list_position, not IN: DuckDB plans an IN list as a join, which reorders lines
            or list_position([32, 160, 5760, 8239, 8287, 12288], unicode(raw_line)) is not null
            or unicode(raw_line) between 8192 and 8202
        )
        and trim(replace(raw_line, ',', '')) = '' then 'blank'
        else 'record'
    end as line_kind,
    coalesce(contains(raw_line, '"'), false) as has_quotes,
    coalesce(
        contains(raw_line, '  ')
        or contains(raw_line, chr(9))
        or contains(raw_line, chr(10))
        or contains(raw_line, chr(12))
        or contains(raw_line, chr(13))
        or contains(raw_line, chr(160)),
        false
    ) as needs_ws,
    -- a CASE, not `has_quotes and not regexp_full_match(...)`: in a projection DuckDB
    -- evaluates both sides of an AND on every row, so the regex ran on every line (1.1 s
    -- of CPU per million lines) instead of only on the quoted ones
    case
        when has_quotes then not regexp_full_match(raw_line || ',', '{{ csv_line }}')
        else false
    end as malformed,
    -- simple: ASCII, no whitespace run or control whitespace
    coalesce(not needs_ws and strlen(raw_line) = length(raw_line), false) as simple
from {{ source }};

-- fields (and plain, which reads simple) in a view of their own: the lateral aliases above
-- would otherwise be evaluated again
create or replace temp view {{ p }}_fields as
select
    *,
    -- plain: simple, and no space next to a field's edge (a comma, a quote, the line's
    -- ends): no value needs trimming
    simple and not coalesce(
        starts_with(raw_line, ' ')
        or ends_with(raw_line, ' ')
        or contains(raw_line, ' ,')
        or contains(raw_line, ', ')
        or (has_quotes and (contains(raw_line, '" ') or contains(raw_line, ' "'))),
        false
    ) as plain,
    case
        when not has_quotes then string_split(raw_line, ',')
        -- a well-formed quoted line: split on the quotes, so that odd pieces are outside
        -- quotes ("" inside a value leaves an empty outside piece), mark the commas of the
        -- outside pieces with chr(31) and split on those (one regex per line costs 4x more)
        when not malformed and not contains(raw_line, chr(31))
            then string_split(
                array_to_string(
                    list_transform(
                        string_split(raw_line, '"'),
                        lambda piece, i: case
                            when i % 2 = 1 then replace(piece, ',', chr(31))
                            else piece
                        end
                    ),
                    '"'
                ),
                chr(31)
            )
        else regexp_extract_all(raw_line || ',', '{{ csv_field }}', 1)
    end as fields
from {{ p }}_lines;

create or replace temp view {{ p }}_values as
select
    *,
    len(fields) as n_fields,
    case
        when len(fields) > {{ n_named }}
            -- an empty field, quoted ("") or not, after the named ones is no data
            then len(list_filter(fields[{{ n_named + 1 }}:], lambda x: trim(x) not in ('', '""'))) > 0
        else false
    end as extra_values,
{%- for c in columns %}
    {{ unquoted(c) }} as u_{{ c.name }}{{ "," if not loop.last }}
{%- endfor %}
from {{ p }}_fields;

create or replace temp view {{ p }}_normalised as
select
    *,
{%- for c in columns %}
    {{ normalised(c) }} as n_{{ c.name }}{{ "," if not loop.last }}
{%- endfor %}
from {{ p }}_values;

create or replace temp view {{ p }}_repaired as
select
    *,
{%- for c in columns %}
    {{ repaired(c) }} as v_{{ c.name }}{{ "," if not loop.last }}
{%- endfor %}
from {{ p }}_normalised;

create or replace temp view {{ p }}_typed as
select
    *,
{%- for c in columns %}
    {{ typed(c) }} as t_{{ c.name }}{{ "," if not loop.last }}
{%- endfor %}
from {{ p }}_repaired;

create or replace temp view {{ p }}_checked as
select
    *,
    case
        when line_kind <> 'record' then null
        when malformed then 1
        -- every named field must be there; empty fields after them may be, in any number
        when n_fields < {{ n_named }} then 2
        when extra_values then 3
{%- for ch in checks %}
        when {{ failed(ch) }} then {{ loop.index + 3 }}
{%- endfor %}
    end as check_no
from {{ p }}_typed;
{%- endmacro %}

{%- macro findings_list() -%}
    list_filter([
{%- for c in columns %}
        case
            when n_{{ c.name }} <> u_{{ c.name }}
                then {{ finding(c.source, whitespace_rule, 'repair', 'u_' ~ c.name, 'n_' ~ c.name, whitespace_expected) }}
        end,
{%- for r in c.repairs %}
        case
            when v_{{ c.name }} <> n_{{ c.name }}
                then {{ finding(c.source, r.rule, 'repair', 'n_' ~ c.name, 'v_' ~ c.name, r.description) }}
        end,
{%- endfor %}
{%- endfor %}
{%- for ch in warnings %}
        case
            when {{ failed(ch) }}
                then {{ finding(ch.source, ch.code, 'warn', 'v_' ~ ch.column, 'null', ch.expected) }}
        end{{ "," if not loop.last }}
{%- endfor %}
    ], lambda x: x is not null)
{%- endmacro %}

{%- macro has_finding() -%}
    (
        -- a plain line's values are unchanged by normalisation
        (not plain and (
{%- for c in columns %}
            coalesce(n_{{ c.name }} <> u_{{ c.name }}, false){{ " or" if not loop.last }}
{%- endfor %}
        ))
{%- for c in columns %}{% for r in c.repairs %}
        or coalesce(v_{{ c.name }} <> n_{{ c.name }}, false)
{%- endfor %}{% endfor %}
{%- for ch in warnings %}
        or coalesce({{ failed(ch) }}, false)
{%- endfor %}
    )
{%- endmacro %}

{#- The amount of a line with one value too many, where its own field does not hold it. A
    text value whose comma lost its quotes (DATASET.md) pushes every later field one place
    right, so the Sales field holds the text's tail and the sale sits in the next field; an
    unquoted amount with a thousands separator (1,531.14) is split in two, "1" and "531.14".
    Only for a line whose Row ID parses and whose one extra value is right after the named
    fields (a stray number in an unnamed column has no Row ID). It is set for a split amount, or
    one field right when the Sales field does not parse; quarantine's revenue takes it first and
    the Sales field's own value otherwise, so the sale is counted in what quarantine holds. -#}
{%- macro shifted_revenue() -%}
    {%- set rev = columns | selectattr('name', 'equalto', revenue_column) | first -%}
    {%- set shifted = 'trim(fields[' ~ (rev.position + 1) ~ "], ' ' || chr(9) || chr(160))" -%}
    {%- set head, tail = 'fields[' ~ rev.position ~ ']', 'fields[' ~ (rev.position + 1) ~ ']' -%}
    case
        when check_no = 3
            and t_{{ key_column }} is not null
            and len(fields) > {{ n_named }}
            and trim(fields[{{ n_named + 1 }}]) not in ('', '""')
            and len(list_filter(fields[{{ n_named + 2 }}:], lambda x: trim(x) not in ('', '""'))) = 0
            then case
                when regexp_full_match({{ head }}, {{ thousands_head | sql_string }})
                    and regexp_full_match({{ tail }}, {{ thousands_tail | sql_string }})
                    then {{ number(rev, head ~ ' || ' ~ tail) }}
                when t_{{ revenue_column }} is null then {{ number(rev, shifted) }}
            end
    end
{%- endmacro %}

set preserve_insertion_order = true;

{{ parse_views('bronze', bronze_lines) }}

-- The one pass over the file: scan, project, write. Nothing else here: a join or an
-- aggregate in this plan could reorder rows, and the line numbers rely on the file order.
-- The header (row 0) is parsed like any line; the staging view calls it the header.
copy (
    select
        line_kind,
        check_no,
        case check_no
            when 2 then n_fields::varchar
            when 3 then n_fields::varchar
{%- for ch in checks %}
            when {{ loop.index + 3 }} then v_{{ ch.column }}
{%- endfor %}
        end as reason_value,
{%- for c in columns %}
        t_{{ c.name }} as {{ c.name }},
{%- endfor %}
        line_kind = 'record' and check_no is null and {{ has_finding() }} as has_finding,
        {{ shifted_revenue() }} as shifted_revenue,
        -- the raw text only where it is needed: quarantine and the repairs table
        case
            when check_no is not null or has_finding then raw_line
        end as raw_line,
        -- The file's date order is decided for the whole file (silver.decide_date_order): a
        -- line votes day-first when a date's first part cannot be a month, month-first when
        -- its second part cannot; and whether its dates make a plausible pair read either way.
        case when line_kind = 'record' then {{ date_votes.day_first }} end as day_first_proof,
        case when line_kind = 'record' then {{ date_votes.month_first }} end as month_first_proof,
        case when line_kind = 'record' then {{ date_votes.fits_declared }} end as fits_declared_order,
        case when line_kind = 'record' then {{ date_votes.fits_swapped }} end as fits_swapped_order
    from bronze_checked
) to '{{ staging_path }}' (format parquet, compression lz4_raw);

-- Every later statement carries source_line: nothing depends on row order any more, and
-- letting DuckDB reorder keeps the partitioned write and the aggregates within the memory limit.
set preserve_insertion_order = false;

create or replace temp view silver_staging as
{{ staging_relation }};

-- Row IDs on more than one accepted line, with the first of those lines. One hash aggregate
-- over every Row ID grows with the rows (its peak RSS went from 363 MiB at 1M rows to 927 MiB
-- at 30M, over the memory limit), so a big file's Row IDs and line numbers are first written
-- in buckets by hash (a partitioned write, bounded like silver's below) and each bucket is
-- aggregated alone: a few million groups at most (silver_sql.row_id_buckets).
{%- if row_id_buckets == 1 %}
create or replace temp table first_lines as
select
    row_id,
    min(source_line) as first_line
from silver_staging
where line_kind = 'record' and check_no is null
group by row_id
having count(*) > 1;
{%- else %}
set partitioned_write_flush_threshold = 8192;
set write_buffer_row_group_count = 1;

copy (
    select
        hash(row_id) % {{ row_id_buckets }} as bucket,
        row_id,
        source_line
    from silver_staging
    where line_kind = 'record' and check_no is null
    -- one row without a Row ID (never an accepted line's: Row ID is required) in every
    -- bucket, so that each bucket's folder exists however few lines are accepted
    union all
    select
        bucket,
        null,
        null
    from range({{ row_id_buckets }}) as b (bucket)
) to '{{ row_ids_path }}' (
    format parquet,
    compression lz4_raw,
    partition_by (bucket)
);

reset partitioned_write_flush_threshold;
reset write_buffer_row_group_count;
{%- for bucket in range(row_id_buckets) %}

{% if loop.first %}create or replace temp table first_lines as{% else %}insert into first_lines{% endif %}
select
    row_id,
    min(source_line) as first_line
from read_parquet('{{ row_ids_read }}/bucket={{ bucket }}/*.parquet')
where row_id is not null
group by row_id
having count(*) > 1;
{%- endfor %}
{%- endif %}

-- The partitioned write flushes small slices: with DuckDB's defaults (each thread keeps up to
-- 524,288 rows across the partitions, each file buffers 5 row groups) 10M rows spilled ~2.4 GB
-- and cost 82 s of CPU at 768MB; with these, 44.5 s and 603 MiB peak (docs/benchmarks.md).
set partitioned_write_flush_threshold = 8192;
set write_buffer_row_group_count = 1;

copy (
    select
{%- for c in columns %}
        s.{{ c.name }},
{%- endfor %}
        s.source_line,
        year(s.order_date)::integer as order_year,
        month(s.order_date)::integer as order_month
    from silver_staging as s
    left join first_lines as f on s.row_id = f.row_id
    where
        s.line_kind = 'record'
        and s.check_no is null
        and (f.first_line is null or s.source_line = f.first_line)
) to '{{ silver_dir }}' (
    format parquet,
    compression zstd,
    partition_by (order_year, order_month),
    filename_pattern 'part-{i}'
);

reset partitioned_write_flush_threshold;
reset write_buffer_row_group_count;

-- The quarantined lines: their raw text is in staging, except for a duplicate Row ID's
-- (it passed every check), which is read back from the file below.
create or replace temp table quarantined as
select
    s.source_line,
    case
        when f.first_line is not null and s.check_no is null
            then 'duplicate_row_id'
        else [{{ reasons | map('sql_string') | join(', ') }}][s.check_no]
    end as reason,
    case
        when f.first_line is not null and s.check_no is null
            then 'Row ID'
        else [{{ reason_columns | map('sql_string') | join(', ') }}][s.check_no]
    end as column_name,
    case
        when f.first_line is not null and s.check_no is null
            then s.row_id::varchar
        else s.reason_value
    end as value,
    case
        when f.first_line is not null and s.check_no is null
            then 'a Row ID not seen before (first seen on line '
            || f.first_line || ')'
        else [{{ expectations | map('sql_string') | join(', ') }}][s.check_no]
    end as expected,
    -- the line's amount: on a line with a value too many, read across the split (shifted_revenue
    -- above) when it was split, else its field's when that parses: the revenue quarantine holds
    coalesce(s.shifted_revenue, s.{{ revenue_column }}) as revenue,
    s.raw_line
from silver_staging as s
left join first_lines as f
    on s.row_id = f.row_id and s.source_line <> f.first_line
where
    s.line_kind = 'record'
    and (s.check_no is not null or f.first_line is not null);

-- The lines file, numbered like staging, only when a duplicate's raw text is needed
-- (otherwise the filter is constant false and the file is empty, with nothing read).
set variable silver_needs_lines = (
    select count(*) > 0 from quarantined where raw_line is null
);

set preserve_insertion_order = true;

copy (
    select raw_line
    from {{ bronze_lines }}
    where getvariable('silver_needs_lines')
) to '{{ lines_path }}' (format parquet, compression lz4_raw);

set preserve_insertion_order = false;

copy (
    select
        '{{ ingest_date }}'::date as ingest_date,
        '{{ source_name }}' as source_file,
        q.source_line,
        coalesce(q.raw_line, l.raw_line) as raw_line,
        q.reason,
        q.column_name,
        q.value,
        q.expected,
        q.revenue
    from quarantined as q
    left join (
        select
            file_row_number + 1 as source_line,
            raw_line
        from read_parquet('{{ lines_read }}', file_row_number = true)
    ) as l on q.raw_line is null and q.source_line = l.source_line
    order by q.source_line
) to '{{ quarantine_path }}' (format parquet, compression zstd);

-- Every repair and warning on a row that is in silver: line, column, value before and
-- after (or the finding), and the rule, for the run's repairs table. Only the lines that
-- carry one are parsed again, from the raw text staging kept for them.
-- (a file, not a subquery: over a join DuckDB merges the views' projections into one and
-- evaluates the field split once per reference, 100x slower; and not a temp table, which
-- keeps every kept line's raw text in the buffer pool while the findings are listed)
copy (
    select
        s.source_line,
        s.raw_line
    from silver_staging as s
    left join first_lines as f on s.row_id = f.row_id
    where
        s.line_kind = 'record'
        and s.has_finding
        and (f.first_line is null or s.source_line = f.first_line)
) to '{{ kept_lines_path }}' (format parquet, compression lz4_raw);

{{ parse_views('kept', "read_parquet('" ~ kept_lines_read ~ "')") }}
{%- macro repairs_columns(k) %}
        '{{ ingest_date }}'::date as ingest_date,
        '{{ source_name }}' as source_file,
        {{ k }}.source_line,
        {{ k }}.finding.column_name as column_name,
        {{ k }}.finding.rule as rule,
        {{ k }}.finding.action as action,
        {{ k }}.finding.value_before as value_before,
        {{ k }}.finding.value_after as value_after,
        {{ k }}.finding.expected as expected
{%- endmacro %}
{%- if row_id_buckets == 1 %}

copy (
    select
{{- repairs_columns('k') }}
    from (
        select
            source_line,
            unnest({{ findings_list() }}) as finding
        from kept_checked
    ) as k
    order by k.source_line, k.finding.column_name, k.finding.rule
) to '{{ repairs_path }}' (format parquet, compression zstd);
{%- else %}

-- A big file's findings: one sort over all of them grows with the rows (932 MiB peak at 30M
-- rows, 370 MiB unsorted), so they are written unsorted, sorted one range of lines at a
-- time, and the sorted parts read back in order into the one repairs file.
copy (
    select
        source_line,
        unnest({{ findings_list() }}) as finding
    from kept_checked
) to '{{ findings_path }}' (format parquet, compression lz4_raw);
{%- for part in range(row_id_buckets) %}

copy (
    select
        source_line,
        finding
    from read_parquet('{{ findings_read }}')
    where
        source_line > {{ part * lines_per_part }}
{%- if not loop.last %}
        and source_line <= {{ (part + 1) * lines_per_part }}
{%- endif %}
    order by source_line, finding.column_name, finding.rule
) to '{{ findings_path }}.{{ part }}' (format parquet, compression lz4_raw);
{%- endfor %}

set preserve_insertion_order = true;

copy (
    select
{{- repairs_columns('k') }}
    from read_parquet([
{%- for part in range(row_id_buckets) %}
        '{{ findings_read }}.{{ part }}'{{ "," if not loop.last }}
{%- endfor %}
    ]) as k
) to '{{ repairs_path }}' (format parquet, compression zstd);

set preserve_insertion_order = false;
{%- endif %}
