public enum ProxyModule {}
