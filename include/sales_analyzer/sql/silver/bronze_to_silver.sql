-- Bronze to silver on DuckDB, rendered from the silver contract by
-- include/sales_analyzer/silver.py (columns, header positions and checks).
--
-- Every physical line of the bronze file is first copied as is, in file order,
-- to a Parquet file of lines (a plain scan-to-COPY, whose insertion order DuckDB
-- preserves): row k of that file is physical line k + 1, so its file_row_number
-- numbers the lines exactly, with no serial row_number() window. Each line is
-- then parsed as CSV and checked on all cores; the result lands in one staging
-- Parquet file that still holds every line. Silver (typed, de-duplicated on
-- row_id, partitioned) and quarantine (line number, raw line, reason) are then
-- split from it, so each line ends in exactly one place and the counts can be
-- reconciled.

{%- macro field(c) -%}
    fields[{{ c.position }}]
{%- endmacro %}

{%- macro unquoted(c) -%}
    case
        when starts_with({{ field(c) }}, '"')
            then replace({{ field(c) }}[2:-2], '""', '"')
        else {{ field(c) }}
    end
{%- endmacro %}

{%- macro normalised(c) -%}
    {%- if c.type == 'string' -%}
    {#- collapse runs of whitespace (RE2 \s = [\t\n\f\r ], and no-break space);
        only lines holding such a run or such a character (needs_ws) pay for the regex #}
    nullif(trim(case
        when needs_ws then regexp_replace(u_{{ c.name }}, '[\s\x{00A0}]+', ' ', 'g')
        else u_{{ c.name }}
    end), '')
    {%- else -%}
    nullif(trim(u_{{ c.name }}, ' ' || chr(9) || chr(160)), '')
    {%- endif -%}
{%- endmacro %}

{%- macro repaired(c) -%}
    {%- if c.repairs -%}
    case
    {%- for r in c.repairs %}
        when regexp_full_match(n_{{ c.name }}, {{ r.when | sql_string }})
            then lpad(n_{{ c.name }}, {{ r.width }}, {{ r.fill | sql_string }})
    {%- endfor %}
        else n_{{ c.name }}
    end
    {%- else -%}
    n_{{ c.name }}
    {%- endif -%}
{%- endmacro %}

{%- macro typed(c) -%}
    {%- if c.type == 'date' -%}
    case
        when regexp_full_match(v_{{ c.name }}, '{{ c.date_shape }}')
            then try_strptime(v_{{ c.name }}, '{{ c.strptime_format }}')::date
    end
    {%- elif c.type in ('bigint', 'decimal') -%}
    case
        when regexp_matches(v_{{ c.name }}, '{{ c.shape }}')
            then try_cast(v_{{ c.name }} as {{ c.sql_type }})
    end
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
    v_{{ ch.column }} not in ({{ ch.arg | map('sql_string') | join(', ') }})
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

set preserve_insertion_order = true;

-- Nothing but scan and write here: a join or aggregate in this plan could reorder
-- rows, and the line numbers below rely on the file order.
copy (
    select rtrim(line, chr(13)) as raw_line
    from read_csv(
        '{{ bronze_read }}',
        columns = {'line': 'VARCHAR'},
        delim = chr(0),
        quote = '',
        escape = '',
        header = false,
        auto_detect = false,
        strict_mode = false
    )
) to '{{ lines_path }}' (format parquet, compression lz4_raw);

create or replace temp view bronze_fields as
select
    file_row_number + 1 as source_line,
    raw_line,
    case
        when file_row_number = 0 then 'header'
        -- nothing but spaces and commas (a spreadsheet's empty row) is a blank line
        when raw_line is null or trim(replace(raw_line, ',', '')) = '' then 'blank'
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
    case
        when has_quotes
            then regexp_extract_all(raw_line || ',', '{{ csv_field }}', 1)
        else string_split(raw_line, ',')
    end as fields
from read_parquet('{{ lines_read }}', file_row_number = true);

create or replace temp view bronze_values as
select
    source_line,
    raw_line,
    line_kind,
    needs_ws,
    has_quotes
    and not regexp_full_match(raw_line || ',', '{{ csv_line }}') as malformed,
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
from bronze_fields;

create or replace temp view bronze_normalised as
select
    *,
{%- for c in columns %}
    {{ normalised(c) }} as n_{{ c.name }}{{ "," if not loop.last }}
{%- endfor %}
from bronze_values;

create or replace temp view bronze_repaired as
select
    *,
{%- for c in columns %}
    {{ repaired(c) }} as v_{{ c.name }}{{ "," if not loop.last }}
{%- endfor %}
from bronze_normalised;

create or replace temp view bronze_typed as
select
    *,
{%- for c in columns %}
    {{ typed(c) }} as t_{{ c.name }},
{%- endfor %}
    -- The file's date order is decided for the whole file (silver.decide_date_order): a
    -- line votes day-first when a date's first part cannot be a month, month-first when its
    -- second part cannot; and whether its dates make a plausible pair read either way.
    {{ date_votes.day_first }} as day_first_proof,
    {{ date_votes.month_first }} as month_first_proof,
    {{ date_votes.fits_declared }} as fits_declared_order,
    {{ date_votes.fits_swapped }} as fits_swapped_order
from bronze_repaired;

create or replace temp view bronze_checked as
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
from bronze_typed;

copy (
    select
        source_line,
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
        -- repairs and warnings of a line that is kept: one struct per finding
        case
            when line_kind = 'record' and check_no is null then list_filter([
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
        end as findings,
        case when line_kind = 'record' then day_first_proof end as day_first_proof,
        case when line_kind = 'record' then month_first_proof end as month_first_proof,
        case when line_kind = 'record' then fits_declared_order end as fits_declared_order,
        case when line_kind = 'record' then fits_swapped_order end as fits_swapped_order
    from bronze_checked
) to '{{ staging_path }}' (format parquet, compression lz4_raw);

create or replace temp table first_lines as
select
    row_id,
    min(source_line) as first_line
from read_parquet('{{ staging_read }}')
where line_kind = 'record' and check_no is null
group by row_id
having count(*) > 1;

copy (
    select
{%- for c in columns %}
        s.{{ c.name }},
{%- endfor %}
        s.source_line,
        year(s.order_date)::integer as order_year,
        month(s.order_date)::integer as order_month
    from read_parquet('{{ staging_read }}') as s
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

-- The few quarantined lines first, then their raw text from the lines file
-- (staging does not carry every line's text a second time).
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
    -- the line's amount when its field parses: the revenue quarantine holds
    s.{{ revenue_column }} as revenue
from read_parquet('{{ staging_read }}') as s
left join first_lines as f
    on s.row_id = f.row_id and s.source_line <> f.first_line
where
    s.line_kind = 'record'
    and (s.check_no is not null or f.first_line is not null);

copy (
    select
        '{{ ingest_date }}'::date as ingest_date,
        '{{ source_name }}' as source_file,
        q.source_line,
        l.raw_line,
        q.reason,
        q.column_name,
        q.value,
        q.expected,
        q.revenue
    from quarantined as q
    inner join (
        select
            file_row_number + 1 as source_line,
            raw_line
        from read_parquet('{{ lines_read }}', file_row_number = true)
    ) as l on q.source_line = l.source_line
    order by q.source_line
) to '{{ quarantine_path }}' (format parquet, compression zstd);

-- Every repair and warning on a row that is in silver: line, column, value before and
-- after (or the finding), and the rule, for the run's repairs table.
copy (
    select
        '{{ ingest_date }}'::date as ingest_date,
        '{{ source_name }}' as source_file,
        k.source_line,
        k.finding.column_name as column_name,
        k.finding.rule as rule,
        k.finding.action as action,
        k.finding.value_before as value_before,
        k.finding.value_after as value_after,
        k.finding.expected as expected
    from (
        select
            s.source_line,
            unnest(s.findings) as finding
        from read_parquet('{{ staging_read }}') as s
        left join first_lines as f on s.row_id = f.row_id
        where
            len(s.findings) > 0
            and (f.first_line is null or s.source_line = f.first_line)
    ) as k
    order by k.source_line, k.finding.column_name, k.finding.rule
) to '{{ repairs_path }}' (format parquet, compression zstd);
