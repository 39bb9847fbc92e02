FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 CONNECTOR_DATA_DIR=/data
COPY pyproject.toml README.md celeryconfig.py constraints.txt ./
COPY connector ./connector
COPY workers ./workers
COPY webhook_receiver ./webhook_receiver
COPY ml_connector ./ml_connector
RUN pip install --no-cache-dir -c constraints.txt . && mkdir -p /data && useradd --create-home connector && chown connector /data
USER connector
EXPOSE 8000 5555
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "webhook_receiver:create_app()"]
