"""Only with LOUPE_BENCH=1 (the `benchmark` command's server): report each response's SQL
statement count in an `X-Loupe-SQL` header, so the count can be read over HTTP."""

from django.db import connection


def sql_count(get_response):
    def middleware(request):
        statements = 0

        def count(execute, sql, params, many, context):
            nonlocal statements
            statements += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = get_response(request)
        response["X-Loupe-SQL"] = str(statements)
        return response

    return middleware
